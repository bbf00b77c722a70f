"""Extraction benchmark: promises, ad rules and sentiment — accuracy and throughput.

* Promise extraction against the simulator's truth (``ground_truth/mentions.csv`` states the
  annual rate each text promises; ``schemes.csv`` its format), three simulated cities.
* Ad rules on the same cities: share of scheme ads flagged, of lawful ads flagged.
* Sentiment toward each aspect of the real CFSC-ABSA test set (8,312 aspects): core lexicon
  and core + cntext extension (built into a temporary file), accuracy and per-class F1.
* Throughput: promises + ad rules + sentiment on ≈1 KB articles, one core.

    python benchmarks/bench_text_extract.py

Results go to benchmarks/results/text_extract.json and text_extract.md.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from fengyan.simulate.params import load_params
from fengyan.simulate.service import simulate
from fengyan.text.ads import check_ad
from fengyan.text.normalize import normalize_text
from fengyan.text.promises import extract_promises
from fengyan.text.sentiment import (
    build_extension,
    default_lexicon,
    load_sentiment_lexicon,
    sentiment,
    sentiment_toward,
)
from fengyan.text.simdata import Agreement, SimText, load_simulated_texts, yield_agreement

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SHARED = Path(os.environ.get("FENGYAN_SHARED_DATA", HERE.parents[1] / "shared" / "data"))
SEEDS = (3, 5, 7)
CITY = {"enterprises.count": 3000, "calendar.months": 24}
LABELS = ("negative", "neutral", "positive")


def _cities(work: Path) -> list[SimText]:
    texts: list[SimText] = []
    for seed in SEEDS:
        out = work / f"sim{seed}"
        simulate(out, load_params(**CITY), seed=seed)
        texts += load_simulated_texts(out)
    return texts


def _sentiment(lex: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    pred = [sentiment_toward(r["sentence"], [(r["from"], r["to"])], lex)[0][0] for r in rows]
    gold = [r["polarity"] for r in rows]
    per: dict[str, dict[str, float]] = {}
    for c in LABELS:
        tp = sum(p == g == c for p, g in zip(pred, gold, strict=True))
        prec = tp / max(1, sum(p == c for p in pred))
        rec = tp / max(1, sum(g == c for g in gold))
        per[c] = {"p": prec, "r": rec, "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0}
    by_level = {}
    for level in sorted({r["Level 1 aspect"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["Level 1 aspect"] == level]
        by_level[level] = sum(pred[i] == gold[i] for i in idx) / len(idx)
    return {
        "lexicon": lex.name,
        "terms": len(lex.weights),
        "accuracy": sum(p == g for p, g in zip(pred, gold, strict=True)) / len(rows),
        "macro_f1": sum(v["f1"] for v in per.values()) / len(LABELS),
        "classes": per,
        "accuracy_by_aspect": by_level,
    }


def _articles(texts: list[SimText], n: int) -> list[str]:
    """≈1 KB (UTF-8) articles made of consecutive simulated texts."""
    out: list[str] = []
    cur = ""
    for t in texts * 20:
        cur += t.text + "。"
        if len(cur.encode("utf-8")) >= 1000:
            out.append(normalize_text(cur))
            cur = ""
            if len(out) == n:
                break
    return out


def main() -> None:
    """Run the benchmark and write the results."""
    result: dict[str, Any] = {"python": platform.python_version(), "seeds": SEEDS, "city": CITY}
    with tempfile.TemporaryDirectory() as tmp:
        texts = _cities(Path(tmp))
        groups = yield_agreement(texts)
        ads = [t for t in texts if t.file.startswith("ads/")]
        flagged = Counter()
        totals = Counter()
        for t in ads:
            key = f"{t.kind}:{t.typology}" if t.kind == "scheme" else t.kind
            totals[key] += 1
            flagged[key] += bool(check_ad(t.body))
        articles = _articles([t for t in texts if t.file.startswith(("media/", "ads/"))], 2000)
        ext = None
        if (SHARED / "fin-sentiment-lexicons").exists():
            ext = build_extension(SHARED / "fin-sentiment-lexicons", Path(tmp) / "ext.json")
        cfsc = SHARED / "cfsc-fin-sentiment" / "cfsc_absa_test.json"
        senti = []
        if cfsc.exists():
            rows = json.loads(cfsc.read_text(encoding="utf-8"))
            senti.append(_sentiment(default_lexicon(), rows))
            if ext is not None:
                senti.append(_sentiment(load_sentiment_lexicon(extension=ext), rows))
    extract_promises(articles[0]), check_ad(articles[0]), sentiment(articles[0])  # warm up
    t0 = time.perf_counter()
    for a in articles:
        extract_promises(a)
        check_ad(a)
        sentiment(a)
        sentiment_toward(a, [(0, 4), (len(a) // 2, len(a) // 2 + 4)])
    elapsed = time.perf_counter() - t0
    rate = len(articles) / elapsed
    result["promises"] = {k: vars(v) for k, v in sorted(groups.items())}
    result["ads_flagged"] = {k: [flagged[k], totals[k]] for k in sorted(totals)}
    result["sentiment"] = senti
    result["throughput"] = {
        "articles": len(articles),
        "mean_bytes": sum(len(a.encode("utf-8")) for a in articles) / len(articles),
        "seconds": round(elapsed, 2),
        "articles_per_second": round(rate, 1),
    }
    scheme = [v for k, v in groups.items() if k != "licensed"]
    total = Agreement(
        total=sum(g.total for g in scheme),
        correct=sum(g.correct for g in scheme),
        missing=sum(g.missing for g in scheme),
        wrong=sum(g.wrong for g in scheme),
    )
    lines = [
        "# Text extraction: promises, ad rules, sentiment",
        "",
        "`python benchmarks/bench_text_extract.py` — simulated cities of "
        f"{CITY['enterprises.count']:,} firms × {CITY['calendar.months']} months, seeds "
        f"{', '.join(map(str, SEEDS))}; CFSC-ABSA test set (real).",
        "",
        "## Promised annual rate vs the simulator's truth",
        "",
        "| format | texts | correct | missing | wrong | share correct |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for k, g in sorted(groups.items()):
        lines.append(
            f"| {k} | {g.total} | {g.correct} | {g.missing} | {g.wrong} | {g.share_correct:.3f} |"
        )
    lines += [
        f"| **all scheme texts** | {total.total} | {total.correct} | {total.missing} "
        f"| {total.wrong} | **{total.share_correct:.3f}** |",
        "",
        "`licensed`: licensed lenders' ads state a loan cost; correct = no promised yield read. "
        "`missing` are texts that state no rate (1.5倍返还 with no term, referral-only pitches, "
        "lending-scheme ads whose truth is a rate they never print).",
        "",
        "## Ads flagged by at least one rule (licences unknown)",
        "",
        "| ads | flagged | total | share |",
        "|---|---:|---:|---:|",
    ]
    for k in sorted(totals):
        lines.append(f"| {k} | {flagged[k]} | {totals[k]} | {flagged[k] / totals[k]:.3f} |")
    if senti:
        lines += [
            "",
            "## Sentiment toward each aspect, CFSC-ABSA test (8,312 aspects, real)",
            "",
            "| lexicon | terms | accuracy | macro-F1 | F1 neg | F1 neu | F1 pos |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for s in senti:
            c = s["classes"]
            lines.append(
                f"| {s['lexicon']} | {s['terms']:,} | {s['accuracy']:.3f} | {s['macro_f1']:.3f} "
                f"| {c['negative']['f1']:.3f} | {c['neutral']['f1']:.3f} "
                f"| {c['positive']['f1']:.3f} |"
            )
        by = senti[0]["accuracy_by_aspect"]
        lines += [
            "",
            "Core lexicon accuracy by aspect: "
            + ", ".join(f"{k} {v:.3f}" for k, v in by.items())
            + ".",
        ]
    lines += [
        "",
        "## Throughput",
        "",
        f"promises + ad rules + sentiment (whole text and two mentions) on {len(articles):,} "
        f"articles of ≈{result['throughput']['mean_bytes']:.0f} bytes: "
        f"**{rate:,.0f} articles/s on one core**.",
    ]
    md = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "text_extract.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (RESULTS / "text_extract.md").write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
