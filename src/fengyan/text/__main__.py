"""Build the text artefacts at setup.

``python -m fengyan.text build [--data F] [--out P] [--plain]`` trains the event classifier on
all of the CCKS 2019 ``train.csv`` (default: ``$FENGYAN_SHARED_DATA`` or ``../shared/data``)
and writes ``var/models/events-hybrid-v2.joblib`` (``--plain``: the ``events-tfidf-v1``
baseline). ``python -m fengyan.text build-sentiment [--from DIR] [--out P]`` merges the cntext
financial sentiment dictionaries into ``var/models/sentiment-lexicon-v1.json`` (not shipped:
their word lists state no licence).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from fengyan.text.ccks import load_ccks
from fengyan.text.events import DEFAULT_ARTEFACT, train, train_hybrid
from fengyan.text.sentiment import DEFAULT_EXTENSION, build_extension


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and build the requested artefact."""
    shared = Path(os.environ.get("FENGYAN_SHARED_DATA", "../shared/data"))
    parser = argparse.ArgumentParser(prog="python -m fengyan.text")
    parser.add_argument("command", choices=["build", "build-sentiment"])
    parser.add_argument("--data", type=Path, default=shared / "ccks2019-fin-events/train.csv")
    parser.add_argument(
        "--from", dest="source", type=Path, default=shared / "fin-sentiment-lexicons"
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--plain", action="store_true", help="build events-tfidf-v1 instead")
    args = parser.parse_args(argv)
    if args.command == "build-sentiment":
        path = build_extension(args.source, args.out or DEFAULT_EXTENSION)
        print(f"sentiment-lexicon-v1 → {path}")
        return 0
    data = load_ccks(args.data)
    texts, labels = [d.text for d in data], [d.events for d in data]
    model = train(texts, labels) if args.plain else train_hybrid(texts, labels)
    path = model.save(args.out or DEFAULT_ARTEFACT)
    print(f"{model.name}: {model.trained_on}; {len(model.events)} types → {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
