"""Risk-event classification benchmark on the real CCKS 2019 data.

Groups ``train.csv`` by text, maps the 22 CCKS labels to Fengyan's event types
(``fengyan/text/lexicons/event_types.yaml``), holds out a stratified 20 % (fixed seed),
trains the TF-IDF char (1–3)-gram + LinearSVC model on the rest and scores it and the keyword
baseline on the same held-out texts: per-type precision/recall/F1 and macro-F1.

    python benchmarks/bench_text_events.py                 # seed 20190
    python benchmarks/bench_text_events.py --data PATH/train.csv --seed 7

Results go to benchmarks/results/text_events.json and text_events.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from fengyan.text.ccks import load_ccks, stratified_split
from fengyan.text.events import Comparison, evaluate, train
from fengyan.text.lexicon import load_lexicons

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SHARED = Path(os.environ.get("FENGYAN_SHARED_DATA", HERE.parents[1] / "shared" / "data"))


def _table(cmp: Comparison, names: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    m, b = cmp.model.by_event(), cmp.baseline.by_event()
    for ev in cmp.events:
        rows.append(
            {
                "event": ev,
                "name": names[ev],
                "support": m[ev].support,
                "model": {"p": m[ev].precision, "r": m[ev].recall, "f1": m[ev].f1},
                "baseline": {"p": b[ev].precision, "r": b[ev].recall, "f1": b[ev].f1},
            }
        )
    return rows


def main() -> None:
    """Run the benchmark and write the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=SHARED / "ccks2019-fin-events" / "train.csv")
    ap.add_argument("--seed", type=int, default=20190)
    ap.add_argument("--test-share", type=float, default=0.2)
    args = ap.parse_args()

    lex = load_lexicons()
    data = load_ccks(args.data, lex)
    train_set, test_set = stratified_split(data, args.test_share, args.seed)
    t0 = time.perf_counter()
    model = train([d.text for d in train_set], [d.events for d in train_set])
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    cmp = evaluate(model, [d.text for d in test_set], [d.events for d in test_set], lexicons=lex)
    eval_s = time.perf_counter() - t0

    names = {code: et.name for code, et in lex.event_types.items()}
    rows = _table(cmp, names)
    result = {
        "data": str(args.data),
        "texts": len(data),
        "train": len(train_set),
        "test": len(test_set),
        "seed": args.seed,
        "model": model.name,
        "macro_f1": {"model": cmp.model.macro_f1, "baseline": cmp.baseline.macro_f1},
        "types": rows,
        "train_seconds": round(train_s, 2),
        "eval_seconds": round(eval_s, 2),
        "python": platform.python_version(),
    }
    lines = [
        "# Risk-event classification on CCKS 2019 (held-out real data)",
        "",
        f"`python benchmarks/bench_text_events.py --seed {args.seed}` — {len(data):,} distinct "
        f"texts, train {len(train_set):,} / test {len(test_set):,} (stratified by rarest type); "
        f"model `{model.name}` trained in {train_s:.1f} s.",
        "",
        "| type | 名称 | support | model P | model R | model F1 | keyword P | keyword R "
        "| keyword F1 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        m, b = r["model"], r["baseline"]
        lines.append(
            f"| {r['event']} | {r['name']} | {r['support']} | {m['p']:.2f} | {m['r']:.2f} "
            f"| {m['f1']:.2f} | {b['p']:.2f} | {b['r']:.2f} | {b['f1']:.2f} |"
        )
    lines += [
        f"| **macro-F1** | | | | | **{cmp.model.macro_f1:.3f}** | | | "
        f"**{cmp.baseline.macro_f1:.3f}** |",
        "",
        "Macro-F1 averages the types with support > 0 in the test split.",
    ]
    md = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "text_events.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (RESULTS / "text_events.md").write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
