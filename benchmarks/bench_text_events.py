"""Risk-event classification benchmark on the real CCKS 2019 data, with and without simulated text.

Groups ``train.csv`` by text, maps the 22 CCKS labels to Fengyan's event types
(``fengyan/text/lexicons/event_types.yaml``) and holds out a stratified 20 % (fixed seed) of
the REAL texts as the test split; simulated text never enters it. In one run:

1. Validation (choosing the default): a stratified 20 % of the REAL training part is carved
   off; ``events-hybrid-v2`` is trained on the rest with no simulated text and with the
   simulated city's labelled texts at several caps per label set (``--caps``), and scored on
   that validation part. The best variant by validation macro-F1 (ties: the one with fewer
   simulated texts) is the recommended default (``fengyan/text/training.yaml``).
2. Test: on the whole real training part, ``events-hybrid-v2`` real only, ``events-hybrid-v2``
   real + simulated (the best cap on validation), the plain char-n-gram model
   ``events-tfidf-v1`` and the keyword baseline, all scored on the same held-out REAL texts:
   per-type precision/recall/F1 and macro-F1.

The simulated texts are those of the city in ``training.yaml`` (simulated in-process) or of
the delivery given with ``--sim``. Labels come from the simulator's templates
(``fengyan/simulate/texts.yaml`` ``events:``).

    python benchmarks/bench_text_events.py                 # seed 20190
    python benchmarks/bench_text_events.py --data PATH/train.csv --seed 7 --sim DIR

Results go to benchmarks/results/text_events.json and text_events.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from pathlib import Path
from typing import Any

from _common import save_results
from fengyan.text.ccks import Labelled, load_ccks, stratified_split
from fengyan.text.events import EventClassifier, evaluate, train, train_hybrid
from fengyan.text.lexicon import load_lexicons
from fengyan.text.metrics import Report, score
from fengyan.text.simdata import simulated_texts, training_settings, training_texts

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SHARED = Path(os.environ.get("FENGYAN_SHARED_DATA", HERE.parents[1] / "shared" / "data"))
RARE = ("runaway", "suspension", "overdue", "rights")


def _prf(rep: Report, ev: str) -> dict[str, float]:
    s = rep.by_event()[ev]
    return {"p": s.precision, "r": s.recall, "f1": s.f1}


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _rare(rep: Report) -> float:
    return sum(rep.by_event()[e].f1 for e in RARE) / len(RARE)


class _Timer:
    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = _cpu()

    def done(self) -> dict[str, float]:
        return {
            "wall": round(time.perf_counter() - self.wall, 1),
            "cpu": round(_cpu() - self.cpu, 1),
        }


def _fit(real: list[Labelled], sim: list[Labelled]) -> tuple[EventClassifier, dict[str, float]]:
    """``events-hybrid-v2`` as ``python -m fengyan.text build`` trains it (its default seed)."""
    clock = _Timer()
    model = train_hybrid(
        [d.text for d in real],
        [d.events for d in real],
        extra_texts=[d.text for d in sim],
        extra_labels=[d.events for d in sim],
    )
    return model, clock.done()


def main() -> None:
    """Run the benchmark and write the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=SHARED / "ccks2019-fin-events" / "train.csv")
    ap.add_argument("--seed", type=int, default=20190)
    ap.add_argument("--test-share", type=float, default=0.2)
    ap.add_argument("--val-share", type=float, default=0.2)
    ap.add_argument("--val-repeats", type=int, default=3, help="validation splits (seeds)")
    ap.add_argument("--sim", type=Path, default=None, help="simulated delivery (default: simulate)")
    ap.add_argument(
        "--caps", default="10,50,all", help="simulated texts per label set tried on validation"
    )
    args = ap.parse_args()
    caps: list[int | None] = [None if c == "all" else int(c) for c in args.caps.split(",")]

    lex = load_lexicons()
    space = frozenset(lex.ccks_map().values())
    data = load_ccks(args.data, lex)
    train_set, test_set = stratified_split(data, args.test_share, args.seed)
    splits = [
        stratified_split(train_set, args.val_share, args.seed + 1 + r)
        for r in range(args.val_repeats)
    ]
    clock = _Timer()
    # The simulated texts once; each cap samples them as `python -m fengyan.text build` does.
    sim_texts = simulated_texts(args.sim)
    sim_seed = int(training_settings()["simulated"]["seed"])

    def _cap(cap: int | None) -> list[Labelled]:
        return training_texts(sim_texts, space, per_label_set=cap, seed=sim_seed)

    sim_all = _cap(None)
    sim_seconds = clock.done()
    test_texts = {d.text for d in test_set}
    assert not any(d.text in test_texts for d in sim_all), "a simulated text is in the test split"

    # 1. Validation on REAL texts carved from the training part (several splits, as the rare
    # types have a handful of texts in each): choose the default.
    validation: list[dict[str, Any]] = []
    for cap in [0, *caps]:
        sim = [] if cap == 0 else _cap(cap)
        runs: list[dict[str, Any]] = []
        for fit_set, val_set in splits:
            model, took = _fit(fit_set, sim)
            rep = score(
                [d.events for d in val_set], model.predict([d.text for d in val_set]), model.events
            )
            runs.append(
                {
                    "macro_f1": rep.macro_f1,
                    "rare_f1": {e: rep.by_event()[e].f1 for e in RARE},
                    "seconds": took,
                }
            )
        n = len(runs)
        validation.append(
            {
                "cap": "none" if cap == 0 else ("all" if cap is None else cap),
                "simulated_texts": len(sim),
                "macro_f1": sum(r["macro_f1"] for r in runs) / n,
                "macro_f1_runs": [round(r["macro_f1"], 4) for r in runs],
                "rare_mean_f1": sum(sum(r["rare_f1"].values()) / len(RARE) for r in runs) / n,
                "rare_f1": {e: sum(r["rare_f1"][e] for r in runs) / n for e in RARE},
                "seconds": {
                    k: round(sum(r["seconds"][k] for r in runs), 1) for k in ("wall", "cpu")
                },
            }
        )
        print(
            f"validation cap={validation[-1]['cap']}: macro-F1 {validation[-1]['macro_f1']:.3f}",
            flush=True,
        )
    with_sim = [v for v in validation if v["cap"] != "none"]
    best_sim = max(with_sim, key=lambda v: (round(v["macro_f1"], 4), -v["simulated_texts"]))
    real_only = validation[0]
    chosen = (
        best_sim if round(best_sim["macro_f1"], 4) > round(real_only["macro_f1"], 4) else real_only
    )

    # 2. Test on the held-out REAL texts: real only vs real + simulated (best cap), plain, keyword.
    best_cap = best_sim["cap"]
    sim = _cap(None if best_cap == "all" else int(best_cap))
    texts, labels = [d.text for d in train_set], [d.events for d in train_set]
    hybrid, real_s = _fit(train_set, [])
    hybrid_sim, sim_s = _fit(train_set, sim)
    clock = _Timer()
    plain = train(texts, labels)
    plain_s = clock.done()
    test_texts_l, gold = [d.text for d in test_set], [d.events for d in test_set]
    cmp = evaluate(hybrid, test_texts_l, gold, lexicons=lex)
    sim_cmp = evaluate(hybrid_sim, test_texts_l, gold, events=cmp.events, lexicons=lex)
    plain_cmp = evaluate(plain, test_texts_l, gold, events=cmp.events, lexicons=lex)
    methods = {
        "real": cmp.model,
        "real_sim": sim_cmp.model,
        "plain": plain_cmp.model,
        "keyword": cmp.baseline,
    }

    names = {code: et.name for code, et in lex.event_types.items()}
    rows: list[dict[str, Any]] = []
    for ev in cmp.events:
        row: dict[str, Any] = {"event": ev, "name": names[ev]}
        row["support"] = cmp.model.by_event()[ev].support
        row["simulated_train"] = sum(ev in d.events for d in sim)
        row.update({k: _prf(rep, ev) for k, rep in methods.items()})
        rows.append(row)
    macro = {k: rep.macro_f1 for k, rep in methods.items()}
    rare = {k: _rare(rep) for k, rep in methods.items()}
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    cfg = training_settings()["simulated"]
    result = {
        "data": str(args.data),
        "texts": len(data),
        "train": len(train_set),
        "fit": len(splits[0][0]),
        "validation": len(splits[0][1]),
        "validation_repeats": len(splits),
        "test": len(test_set),
        "seed": args.seed,
        "simulated": {
            "source": str(args.sim) if args.sim else f"simulated in-process: {cfg}",
            "texts_all": len(sim_all),
            "texts_used": len(sim),
            "cap_per_label_set": best_cap,
            "seconds": sim_seconds,
        },
        "validation_runs": validation,
        "chosen_default": "real + simulated" if chosen is best_sim else "real only",
        "model": hybrid.name,
        "plain": plain.name,
        "thresholds": {
            "real": dict(zip(hybrid.events, hybrid.thresholds or (), strict=False)),
            "real_sim": dict(zip(hybrid_sim.events, hybrid_sim.thresholds or (), strict=False)),
        },
        "macro_f1": macro,
        "rare_mean_f1": rare,
        "types": rows,
        "train_seconds": {"real": real_s, "real_sim": sim_s, "plain": plain_s},
        "loadavg_end": load,
        "python": platform.python_version(),
    }
    md = _markdown(args, result, rows, macro, rare)
    save_results(RESULTS, "text_events", result, md)
    print(md)


def _markdown(
    args: argparse.Namespace,
    r: dict[str, Any],
    rows: list[dict[str, Any]],
    macro: dict[str, float],
    rare: dict[str, float],
) -> str:
    sim = r["simulated"]
    secs = r["train_seconds"]
    lines = [
        "# Risk-event classification on CCKS 2019 (held-out real data), with simulated text",
        "",
        f"`python benchmarks/bench_text_events.py --seed {args.seed}` — {r['texts']:,} distinct "
        f"real texts, train {r['train']:,} / test {r['test']:,} (stratified by rarest type). "
        f"Simulated: {sim['texts_all']:,} distinct labelled texts "
        f"({sim['source']}); load average at the end {' '.join(r['loadavg_end'])}.",
        "",
        "## Validation (REAL texts carved from the training part; chooses the default)",
        "",
        f"{r['validation_repeats']} stratified splits of the real training part (seeds "
        f"{args.seed + 1}…{args.seed + r['validation_repeats']}): trained on {r['fit']:,} real "
        f"texts (+ simulated), scored on {r['validation']:,} real texts; the figures are means "
        "over the splits. The test split is not used here.",
        "",
        "| simulated per label set | simulated texts | macro-F1 (per split) | rare-four mean F1 | "
        + " | ".join(f"{e} F1" for e in RARE)
        + " | train s (CPU) |",
        "|---|---:|---:|---:|" + "---:|" * len(RARE) + "---:|",
    ]
    for v in r["validation_runs"]:
        lines.append(
            f"| {v['cap']} | {v['simulated_texts']} | {v['macro_f1']:.3f} "
            f"({', '.join(f'{x:.3f}' for x in v['macro_f1_runs'])}) | "
            f"{v['rare_mean_f1']:.3f} | "
            + " | ".join(f"{v['rare_f1'][e]:.2f}" for e in RARE)
            + f" | {v['seconds']['wall']} ({v['seconds']['cpu']}) |"
        )
    lines += [
        "",
        f"Chosen default: **{r['chosen_default']}**; the real + simulated model below uses "
        f"{sim['texts_used']} simulated texts (at most {sim['cap_per_label_set']} per label set, "
        "the best cap on validation).",
        "",
        "## Test (held-out REAL texts)",
        "",
        "| type | 名称 | support | sim. train | real P | real R | real F1 | +sim P | +sim R "
        "| **+sim F1** | plain F1 | keyword P | keyword R | keyword F1 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        m, s, p, b = row["real"], row["real_sim"], row["plain"], row["keyword"]
        lines.append(
            f"| {row['event']} | {row['name']} | {row['support']} | {row['simulated_train']} "
            f"| {m['p']:.2f} | {m['r']:.2f} | {m['f1']:.2f} | {s['p']:.2f} | {s['r']:.2f} "
            f"| **{s['f1']:.2f}** | {p['f1']:.2f} | {b['p']:.2f} | {b['r']:.2f} | {b['f1']:.2f} |"
        )
    lines += [
        f"| **macro-F1** | | | | | | {macro['real']:.3f} | | | **{macro['real_sim']:.3f}** "
        f"| {macro['plain']:.3f} | | | {macro['keyword']:.3f} |",
        f"| rare four (mean F1: {', '.join(RARE)}) | | | | | | {rare['real']:.3f} | | | "
        f"**{rare['real_sim']:.3f}** | {rare['plain']:.3f} | | | {rare['keyword']:.3f} |",
        "",
        "real = `events-hybrid-v2` on the real training texts only; +sim = the same plus the "
        "simulated texts; plain = `events-tfidf-v1`; keyword = the keyword tagger. Macro-F1 "
        "averages the types with support > 0 in the test split. Thresholds were tuned on "
        "out-of-fold margins of the REAL training texts only (simulated texts are in every "
        "fold's training part, never scored); the test split is never seen.",
        f"Training time wall s (CPU s): real {secs['real']['wall']} ({secs['real']['cpu']}), "
        f"+sim {secs['real_sim']['wall']} ({secs['real_sim']['cpu']}), plain "
        f"{secs['plain']['wall']} ({secs['plain']['cpu']}); simulating the city "
        f"{sim['seconds']['wall']} ({sim['seconds']['cpu']}).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
