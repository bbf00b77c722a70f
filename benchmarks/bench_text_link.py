"""Mention-linking benchmark: a 3 M-name automaton, article throughput, and P/R at 20k firms.

1. **Dictionary and automaton.** ``--names`` synthetic firm names made by the simulator's
   name generator (real brand words of ``simulate/data``, industry words of the shipped
   parameters, the three Shenzhen name styles), generated in a child process and read back
   as Arrow (as the service reads them from the lake). Times: the column-wise dictionary
   build (:func:`build_dictionary`: normalising and taking names apart in ``--workers``
   processes, surfaces, CSR arrays) and the sharded ahocorasick-rs automaton
   (:class:`Linker`, shards built in threads); peak RSS of the process and its children.
2. **Throughput.** ``--articles`` articles of about 1 KB (news sentences with promises and
   risk words around 1–3 firm names written in full, short or as 鹏润公司), each normalised,
   linked and scanned for feature and event words (keyword event tagging), in one process
   and in ``--workers`` processes forked after the build (they share the automaton).
3. **Linking P/R** on a simulated city (``--firms``, ``--seed``): simulate, ingest,
   resolve, ``run_text``, score ``text_mention`` against ``ground_truth/mentions.csv``.

    python benchmarks/bench_text_link.py                       # 3,000,000 names, 20k firms
    python benchmarks/bench_text_link.py --names 200000 --articles 2000 --firms 0

Results go to benchmarks/results/text_link.json and text_link.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import shutil
import sys
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from _common import bench_workspace
from fengyan.simulate import names as simnames
from fengyan.simulate.core import join
from fengyan.simulate.params import load_params
from fengyan.text.keywords import FIRE_WEIGHT
from fengyan.text.linking import OPEN_DAY, FirmFacts, LexiconScanner, Linker, build_dictionary
from fengyan.text.normalize import normalize_text
from fengyan.text.service import load_settings

HERE = Path(__file__).resolve().parent
WORK = HERE / "work" / "text_link"
RESULTS = HERE / "results"

FILLER = [
    "记者近日走访了位于南山区的一家财富管理门店，现场人头攒动，工作人员热情介绍各类理财产品。",
    "工作人员介绍，该产品年化收益率12%，保本保息，每月返还利息，推荐一人另奖励500元。",
    "多名投资人反映，从上个月开始提现困难，客服一直说系统升级，有没有一起维权的？",
    "区金融办提醒广大市民，警惕高息诱惑，谨防非法集资，发现线索请及时向有关部门举报。",
    "据悉，该公司负责人已失联，经侦部门已介入调查，涉案金额或超过三千万元。",
    "公司举办年度客户答谢会，介绍新一年的产品规划和服务举措，现场签约多个合作项目。",
    "近日，有关负责人一行到企业调研，了解企业生产经营情况，帮助解决实际困难。",
    "业内人士表示，承诺高收益、保本保息的投资产品往往存在较大风险，投资者需谨慎。",
    "養老公寓床位認購活動火熱進行中，投一萬每月返五百，名額有限，先到先得。",
    "平台称其获得国家支持，项目由政府背书，数字藏品和区块链应用前景广阔。",
]


def rss_mib() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_names(n: int, seed: int) -> pa.Table:
    """``n`` distinct firm names (full, short form, brand) by the simulator's generator."""
    rng = np.random.default_rng(seed)
    params = load_params()
    words = np.array([w for ind in params.industries for w in ind.words])
    word = words[rng.integers(0, len(words), n)]
    brand = simnames.unique_brands(rng, simnames.brand_words(rng, n), word)
    style = rng.integers(0, 3, n)
    full = simnames.firm_names(
        rng, brand, word, np.full(n, "有限公司"), style, "深圳市", "深圳",
        np.full(n, "南山区"), np.zeros(n, dtype=bool),
    )  # fmt: skip
    return pa.table({"full": full, "short": join(brand, word), "brand": brand})


def _write_names(n: int, seed: int, path: Path) -> None:
    with pa.OSFile(str(path), "wb") as sink:
        table = synthetic_names(n, seed)
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table, max_chunksize=1 << 20)


def names_file(n: int, seed: int) -> pa.Table:
    """The synthetic names, generated in a child process (its memory is not ours) and
    memory-mapped back as Arrow."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"names-{n}-{seed}.arrow"
    if not path.exists():
        child = get_context("fork").Process(target=_write_names, args=(n, seed, path))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise RuntimeError("name generation failed")
    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()


def make_articles(n: int, names: pa.Table, seed: int) -> list[str]:
    """About 1 KB articles naming 1–3 firms each (full 60 %, short 30 %, 鹏润公司 10 %)."""
    rng = np.random.default_rng(seed + 1)
    picks = rng.integers(0, names.num_rows, 3 * n)
    taken = names.take(pa.array(picks))
    full, short, brand = (taken[c].to_pylist() for c in ("full", "short", "brand"))
    out = []
    k = 0
    for _ in range(n):
        parts: list[str] = []
        firms = list(range(k, k + int(rng.integers(1, 4))))
        k += 3
        while sum(len(p) for p in parts) < 330:  # ≈ 1 KB of UTF-8
            parts.append(FILLER[int(rng.integers(0, len(FILLER)))])
            if firms:
                f = firms.pop(0)
                form = rng.random()
                name = full[f] if form < 0.6 else short[f] if form < 0.9 else brand[f] + "公司"
                parts.append(f"{name}表示，将继续依法合规经营。")
        out.append("".join(parts))
    return out


_LINKER: Linker | None = None
_SCANNER: LexiconScanner | None = None


def process(texts: list[str]) -> tuple[int, int, int, float]:
    """Normalise, link, scan and tag ``texts``; (mentions, feature hits, event tags, CPU s)."""
    assert _LINKER is not None and _SCANNER is not None
    cpu = time.process_time()
    mentions = features = events = 0
    for raw in texts:
        text = normalize_text(raw)
        mentions += len(_LINKER.link(text))
        ev, feat = _SCANNER.scan(text)
        features += len(feat)
        events += len({h.label for h in ev if h.weight >= FIRE_WEIGHT})
    return mentions, features, events, time.process_time() - cpu


def throughput(articles: list[str], workers: int) -> tuple[float, float, tuple[int, int, int]]:
    """Articles per wall second with ``workers`` forked processes (1: in this process),
    articles per CPU second (what one dedicated core does: the machine is shared), totals."""
    start = time.perf_counter()
    if workers <= 1:
        parts = [process(articles)]
    else:
        step = -(-len(articles) // (workers * 4))
        chunks = [articles[i : i + step] for i in range(0, len(articles), step)]
        with get_context("fork").Pool(workers) as pool:
            parts = pool.map(process, chunks)
    wall = time.perf_counter() - start
    cpu = sum(p[3] for p in parts)
    totals = (sum(p[0] for p in parts), sum(p[1] for p in parts), sum(p[2] for p in parts))
    return len(articles) / wall, len(articles) / cpu, totals


def bench_automaton(args: argparse.Namespace) -> dict[str, Any]:
    """Parts 1 and 2."""
    global _LINKER, _SCANNER
    settings = load_settings().linking
    settings = dataclasses.replace(
        settings, build_workers=args.workers, automaton_shards=args.workers
    )
    t0 = time.perf_counter()
    names = names_file(args.names, args.seed)
    gen = time.perf_counter() - t0
    full = names["full"]
    print(f"{len(full):,} names in {gen:.1f} s (e.g. {full[0]}, {full[1]})", flush=True)
    rss_start = rss_mib()
    t0, c0, k0 = time.perf_counter(), time.process_time(), _children_cpu()
    firm = np.arange(len(full), dtype=np.int32)
    kinds = pa.array(["current"], pa.string()).take(pa.array(np.zeros(len(full), np.int32)))
    d = build_dictionary(firm, full, kinds, settings, workers=args.workers)
    dict_s = time.perf_counter() - t0
    dict_cpu = time.process_time() - c0 + _children_cpu() - k0
    print(
        f"dictionary: {dict_s:.1f} s ({dict_cpu:.1f} s CPU), {len(d.patterns):,} surfaces, "
        f"{d.entries:,} entries; RSS {rss_mib():,.0f} MiB",
        flush=True,
    )
    n = len(full)
    facts = FirmFacts(
        ids=[str(i) for i in range(n)],
        region=["440305"] * n,
        operating_region=[""] * n,
        established=np.zeros(n, dtype=np.int64),
        closed=np.full(n, OPEN_DAY, dtype=np.int64),
        finance=np.zeros(n, dtype=bool),
    )
    rss_before = rss_mib()
    t0, c0 = time.perf_counter(), time.process_time()
    _LINKER = Linker(d, facts, settings)
    build_s, build_cpu = time.perf_counter() - t0, time.process_time() - c0
    _SCANNER = LexiconScanner()
    rss_after = rss_mib()
    children_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"automaton: {build_s:.1f} s ({build_cpu:.1f} s CPU, {args.workers} shards); "
        f"peak RSS {rss_after:,.0f} MiB (children {children_rss:,.0f})",
        flush=True,
    )
    articles = make_articles(args.articles, names, args.seed)
    kb = sum(len(a.encode("utf-8")) for a in articles) / len(articles) / 1024
    load = os.getloadavg()[0]
    one, one_cpu, _ = throughput(articles[: max(1, len(articles) // 4)], 1)
    many, many_cpu, totals_many = throughput(articles, args.workers)
    print(
        f"throughput: {one:,.0f} articles/s (1 process), {many:,.0f}/s ({args.workers}); "
        f"{many_cpu:,.0f} per CPU second; load {load:.1f}"
    )
    return {
        "names": n,
        "surfaces": len(d.patterns),
        "entries": d.entries,
        "generate_s": round(gen, 1),
        "build_workers": args.workers,
        "dictionary_s": round(dict_s, 1),
        "dictionary_cpu_s": round(dict_cpu, 1),
        "automaton_s": round(build_s, 1),
        "automaton_cpu_s": round(build_cpu, 1),
        "build_s": round(dict_s + build_s, 1),
        "rss_names_mib": round(rss_start),
        "rss_before_automaton_mib": round(rss_before),
        "peak_rss_mib": round(rss_after),
        "children_peak_rss_mib": round(children_rss),
        "articles": len(articles),
        "article_kib": round(kb, 2),
        "articles_per_s_1": round(one),
        "articles_per_cpu_s_1": round(one_cpu),
        "articles_per_s_workers": round(many),
        "articles_per_cpu_s": round(many_cpu),
        "articles_per_s_2_dedicated_cores": round(2 * many_cpu),
        "load_average": round(load, 1),
        "workers": args.workers,
        "mentions_per_article": round(totals_many[0] / len(articles), 2),
        "feature_hits_per_article": round(totals_many[1] / len(articles), 2),
        "events_per_article": round(totals_many[2] / len(articles), 2),
        "worker_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def bench_city(args: argparse.Namespace) -> dict[str, Any]:
    """Part 3: P/R of linking on a simulated city."""
    from fengyan.ingest.service import ingest_path
    from fengyan.resolve.service import resolve
    from fengyan.simulate.service import simulate
    from fengyan.text.service import evaluate_linking, run_text

    root = WORK / f"city-{args.firms}x{args.months}-seed{args.seed}"
    shutil.rmtree(root, ignore_errors=True)
    city = root / "city"
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    params = load_params(**{"enterprises.count": args.firms, "calendar.months": args.months})
    simulate(city, params, seed=args.seed)
    times["simulate"] = time.perf_counter() - t0
    home = root / "home"
    ws = bench_workspace(home)
    t0 = time.perf_counter()
    ingest_path(ws, city)
    times["ingest"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    resolve(ws)
    times["resolve"] = time.perf_counter() - t0
    report = run_text(ws)
    con = ws.lake.connect()
    scores = {}
    for mode, text_only in (("text", True), ("with_keys", False)):
        for name, s in sorted(
            evaluate_linking(con, city / "ground_truth", text_only=text_only).items()
        ):
            scores[f"{mode}:{name}"] = {
                "documents": s.documents,
                "found": s.found,
                "links": s.links,
                "correct": s.correct,
                "precision": round(s.precision, 4),
                "recall": round(s.recall, 4),
            }
    con.close()
    ws.engine.dispose()
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return {
        "firms": args.firms,
        "months": args.months,
        "seed": args.seed,
        "event_method": report.event_method,
        "text_stage_s": {k: round(v, 2) for k, v in report.seconds.items()},
        "counts": report.counts,
        "steps_s": {k: round(v, 1) for k, v in times.items()},
        "scores": scores,
    }


def markdown(result: dict[str, Any], command: str) -> str:
    """The results as a Markdown page."""
    lines = [f"# Text linking benchmark\n\n`{command}` — {result['machine']}\n"]
    a = result.get("automaton")
    if a:
        lines += [
            "| names | surfaces | dictionary (CPU) | automaton (CPU) | build total | peak RSS | "
            "articles/s, 1 process | articles/s, workers | per CPU s | 2 dedicated cores |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {a['names']:,} | {a['surfaces']:,} | {a['dictionary_s']} s "
            f"({a['dictionary_cpu_s']} s, {a['build_workers']} proc.) | {a['automaton_s']} s "
            f"({a['automaton_cpu_s']} s, {a['workers']} shards) | **{a['build_s']} s** | "
            f"{a['peak_rss_mib']:,} MiB | {a['articles_per_s_1']:,} | "
            f"{a['articles_per_s_workers']:,} ({a['workers']}) | {a['articles_per_cpu_s']:,} | "
            f"{a['articles_per_s_2_dedicated_cores']:,} |",
            "",
            f"{a['articles']:,} articles of {a['article_kib']} KiB on average; per article "
            f"{a['mentions_per_article']} mentions, {a['feature_hits_per_article']} feature "
            f"hits, {a['events_per_article']} event types. Memory: {a['rss_names_mib']:,} MiB "
            f"with the names mapped, {a['rss_before_automaton_mib']:,} MiB after the "
            f"dictionary, {a['peak_rss_mib']:,} MiB peak with the automaton; name-preparing "
            f"children and throughput workers peaked at {a['worker_peak_rss_mib']:,} MiB "
            "each (shared pages counted in each). Load average "
            f"{a['load_average']} on 2 cores during the run (other jobs), so wall-clock "
            "rates understate what 2 dedicated cores do; '2 dedicated cores' is 2 × articles "
            "per CPU second.\n",
        ]
    c = result.get("city")
    if c:
        lines += [
            f"## Linking on a simulated city: {c['firms']:,} firms × {c['months']} months, "
            f"seed {c['seed']}\n",
            "| scope | documents | linked pairs | correct | precision | recall |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, s in c["scores"].items():
            lines.append(
                f"| {name} | {s['documents']:,} | {s['links']:,} | {s['correct']:,} | "
                f"{s['precision']:.4f} | {s['recall']:.4f} |"
            )
        stage = ", ".join(f"{k} {v} s" for k, v in c["text_stage_s"].items())
        lines.append(f"\nText stage ({c['event_method']} events): {stage}.\n")
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, run the parts, print and save the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=3_000_000)
    parser.add_argument("--articles", type=int, default=40_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--firms", type=int, default=20_000, help="0 skips the city part")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the city's work folder")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    command = "python benchmarks/bench_text_link.py " + " ".join(a for a in sys.argv[1:])
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, load {os.getloadavg()[0]:.1f} at start",
        "command": command.strip(),
    }
    if args.firms:
        result["city"] = bench_city(args)  # first: the big automaton would inflate its RSS
    if args.names:
        result["automaton"] = bench_automaton(args)
    text = markdown(result, result["command"])
    print(text)
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "text_link.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
        (RESULTS / "text_link.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
