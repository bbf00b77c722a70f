"""Build the text artefacts at setup.

``python -m fengyan.text build [--data F] [--out P] [--plain] [--sim DIR | --no-sim]`` trains
the event classifier on all of the CCKS 2019 ``train.csv`` (default: ``$FENGYAN_SHARED_DATA`` or
``../shared/data``) plus labelled simulated texts, and writes
``var/models/events-hybrid-v2.joblib`` (``--plain``: the ``events-tfidf-v1`` baseline, real
data only). The simulated texts come from the small city ``fengyan/text/training.yaml`` names,
simulated in-process (offline, seconds), or from the delivery in ``--sim DIR``; ``--no-sim``
trains on the real data alone (``training.yaml`` ``use`` sets the default).
``python -m fengyan.text build-sentiment [--from DIR] [--out P]`` merges the cntext
financial sentiment dictionaries into ``var/models/sentiment-lexicon-v1.json`` (not shipped:
their word lists state no licence).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from fengyan.text.ccks import load_ccks
from fengyan.text.events import DEFAULT_ARTEFACT, train, train_hybrid
from fengyan.text.lexicon import load_lexicons
from fengyan.text.sentiment import DEFAULT_EXTENSION, build_extension
from fengyan.text.simdata import simulated_training_texts, training_settings


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
    sim = parser.add_mutually_exclusive_group()
    sim.add_argument("--sim", type=Path, default=None, help="simulated delivery to add texts of")
    sim.add_argument("--no-sim", action="store_true", help="train on the real data only")
    args = parser.parse_args(argv)
    if args.command == "build-sentiment":
        path = build_extension(args.source, args.out or DEFAULT_EXTENSION)
        print(f"sentiment-lexicon-v1 → {path}")
        return 0
    lex = load_lexicons()
    data = load_ccks(args.data, lex)
    texts, labels = [d.text for d in data], [d.events for d in data]
    if args.plain:
        model = train(texts, labels)
    else:
        use_sim = args.sim is not None or (
            not args.no_sim and bool(training_settings()["simulated"]["use"])
        )
        extra = (
            simulated_training_texts(frozenset(lex.ccks_map().values()), root=args.sim)
            if use_sim
            else []
        )
        model = train_hybrid(
            texts,
            labels,
            extra_texts=[d.text for d in extra],
            extra_labels=[d.events for d in extra],
        )
    path = model.save(args.out or DEFAULT_ARTEFACT)
    print(f"{model.name}: {model.trained_on}; {len(model.events)} types → {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
