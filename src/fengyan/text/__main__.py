"""Build the event-classifier artefact: ``python -m fengyan.text build [--data F] [--out P]``.

Trains on all of the CCKS 2019 ``train.csv`` (default: ``$FENGYAN_SHARED_DATA`` or
``../shared/data``) and writes ``var/models/events-tfidf-v1.joblib`` (~14 MB, not committed).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from fengyan.text.ccks import load_ccks
from fengyan.text.events import DEFAULT_ARTEFACT, train


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, train on the CCKS file and save the artefact."""
    shared = Path(os.environ.get("FENGYAN_SHARED_DATA", "../shared/data"))
    parser = argparse.ArgumentParser(prog="python -m fengyan.text")
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--data", type=Path, default=shared / "ccks2019-fin-events/train.csv")
    parser.add_argument("--out", type=Path, default=DEFAULT_ARTEFACT)
    args = parser.parse_args(argv)
    data = load_ccks(args.data)
    model = train([d.text for d in data], [d.events for d in data])
    path = model.save(args.out)
    print(f"{model.name}: {model.trained_on}; {len(model.events)} types → {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
