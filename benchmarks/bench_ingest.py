"""Ingestion benchmark: throughput and peak memory of ``fengyan ingest`` on registry CSVs.

For each size it writes a realistic 市场监管局 registry export (GB18030, Chinese headers,
14 columns, a mapping YAML, ~1% deliberately bad rows), then runs

    python -m fengyan ingest FILE --type Enterprise --source 市场监管局 --mapping M --home H

in a child process with a fresh data folder, and measures wall time, the child's peak
resident memory and what the database recorded (rows stored and quarantined).

Peak RSS is exact: every size runs under its own small wrapper process, which waits for
the ingest and reads ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` — the high-water mark of
that one child. The benchmark also polls the child's RSS every 50 ms (psutil) to record
how memory moves during the run.

    python benchmarks/bench_ingest.py                  # 100k, 300k, 1M rows
    python benchmarks/bench_ingest.py --quick          # 20k, 50k rows
    python benchmarks/bench_ingest.py --sizes 10000 --keep

Results go to benchmarks/results/ingest.json and ingest.md; work files to
benchmarks/work/ (git-ignored), deleted afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import platform
import shutil
import sqlite3
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from _common import run_wrapped, save_results
from fengyan.samples import sample_dir

HERE = Path(__file__).resolve().parent
WORK = HERE / "work" / "ingest"  # its own folder: the simulator benchmark uses work/simulate
RESULTS = HERE / "results"
DEFAULT_SIZES = (100_000, 300_000, 1_000_000)
QUICK_SIZES = (20_000, 50_000)
GEN_CHUNK = 100_000
SOURCE = "市场监管局"
MiB = 1024 * 1024

HEADER = [
    "序号",
    "统一社会信用代码",
    "企业名称",
    "法定代表人",
    "注册资本（万元）",
    "币种",
    "成立日期",
    "登记状态",
    "企业类型",
    "经营范围",
    "行业代码",
    "注册地址",
    "行政区划代码",
    "曾用名",
]
# The registry export has the bundled demo delivery's layout, so it uses that mapping file.
MAPPING_FILE = sample_dir() / "registry_enterprises.mapping.yaml"

# --- vocabularies ----------------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)


def _words(text: str) -> list[str]:
    return text.split()


BRAND_CHARS = list(
    "鹏润海盈华信康寿链通金穗安邦绿源万家星河宏远前程天瑞恒达鑫泰永盛中联汇丰富力嘉禾博雅"
    "众诚启航凯旋鼎新宇辰瀚海龙腾凤翔正道同创聚融广厚德隆昌明兴旺和顺佳美长青弘毅盛世"
    "锦程方圆新元利民惠农普惠融通诚信优品智汇云图"
)
INDUSTRY_WORDS = _words(
    "财富管理 科技 投资咨询 供应链管理 养老服务 区块链科技 商贸 电子商务 建筑工程 农业科技 "
    "文化传媒 网络科技 资产管理 融资租赁 商业保理 实业 贸易 信息咨询 健康管理 教育科技 物流 "
    "餐饮管理 房地产开发 新能源 生物科技"
)
SUFFIXES = _words("有限公司 有限公司 有限公司 股份有限公司 有限责任公司 合伙企业（有限合伙）")
SURNAMES = [
    *"王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程",
    *_words("欧阳 司马 诸葛"),
]
GIVEN_CHARS = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红文辉玉梅鹏飞")
CURRENCIES = ["人民币"] * 95 + ["美元"] * 3 + ["港元"] * 2
STATUSES = ["存续"] * 80 + ["在业"] * 10 + ["注销"] * 5 + ["吊销"] * 4 + ["迁出"]
FORMS = _words(
    "有限责任公司（自然人投资或控股） 有限责任公司（自然人独资） 有限责任公司（法人独资） "
    "股份有限公司（非上市、自然人投资或控股） 个人独资企业 有限合伙企业 "
    "有限责任公司（港澳台法人独资） 其他有限责任公司"
)
INDUSTRY_CODES = _words(
    "I6510 L7212 F5299 E4813 J6637 J6931 C3982 M7320 K7010 H6210 G5430 A0190 Q8514 I6432 "
    "I6513 L7219 F5191 P8391 R8610 C1369 L72 F I65"
)
SCOPE_ITEMS = _words(
    "投资咨询 财富管理咨询 企业管理咨询 软件开发 信息技术咨询服务 供应链管理 国内贸易 "
    "受托资产管理（不得从事证券、期货、保险业务） 养老服务 健康管理咨询 保健食品销售 "
    "区块链技术开发 数字藏品技术服务 农业技术开发 农产品销售 日用百货销售 电子商务 "
    "网络技术服务 建筑工程施工 市政工程 货物进出口 技术进出口 广告设计、制作、代理 "
    "会议及展览服务 市场营销策划 文化艺术交流活动策划 物业管理 房地产经纪 汽车租赁 "
    "道路货物运输（不含危险货物） 食品经营 第二类医疗器械销售 数据处理和存储支持服务 "
    "人力资源服务（不含职业中介活动、劳务派遣服务） 人工智能应用软件开发 储能技术服务 "
    "教育咨询服务（不含涉许可审批的教育培训活动） 新能源汽车整车销售 非居住房地产租赁 "
    "融资咨询服务 以自有资金从事投资活动 商务信息咨询（不含投资类咨询）"
)
ROADS = _words(
    "深南大道 滨海大道 北环大道 人民路 建设路 解放路 中山路 科技园路 创业路 南海大道 环城路 "
    "新华路 工业大道 金融街 花园路"
)


def _pick(rng: np.random.Generator, vocab: list[str], n: int) -> np.ndarray:
    """``n`` random entries of ``vocab`` as an object array (vectorised)."""
    return np.array(vocab, dtype=object)[rng.integers(0, len(vocab), n)]


def _str(values: np.ndarray) -> np.ndarray:
    return np.array(list(map(str, values.tolist())), dtype=object)


@dataclass
class Places:
    """Towns (level 4) of Guangdong with their district code and address prefix."""

    district_code: np.ndarray  # 6 digits
    district_digits: np.ndarray  # the same as an (n, 6) integer matrix
    city: np.ndarray  # 深圳市
    prefix: np.ndarray  # 广东省深圳市南山区粤海街道

    @classmethod
    def load(cls) -> Places:
        from fengyan.standards.regions import region_table

        table = region_table()
        codes, cities, prefixes = [], [], []
        full: dict[str, tuple[str, str]] = {}
        for town in table.descendants("440000", level=4):
            district = town.code[:6]
            if district not in full:
                chain = table.ancestors(district)
                full[district] = (chain[1].name, table.full_name(district))
            codes.append(district)
            cities.append(full[district][0])
            prefixes.append(full[district][1] + town.name)
        digits = np.array([[int(c) for c in code] for code in codes], dtype=np.int64)
        return cls(
            np.array(codes, dtype=object),
            digits,
            np.array(cities, dtype=object),
            np.array(prefixes, dtype=object),
        )


def _scope_pool(rng: np.random.Generator, size: int = 4096) -> np.ndarray:
    """Business-scope halves of 25–95 characters; a scope joins two of them (51–191)."""
    pool: list[str] = []
    while len(pool) < size:
        target, items = int(rng.integers(25, 96)), list[str]()
        while len("；".join(items)) < target:
            items.append(SCOPE_ITEMS[int(rng.integers(len(SCOPE_ITEMS)))])
        while len("；".join(items)) > 95:  # whole items only
            items.pop()
        if len("；".join(items)) >= 25:
            pool.append("；".join(items))
    return np.array(pool, dtype=object)


def credit_codes(serial: np.ndarray, district: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Valid, distinct 统一社会信用代码 for distinct ``serial`` numbers (vectorised).

    ``district`` holds each registering district's six digits. A code is ``91``, the
    district, a GB 11714 organisation code (``MA`` and six base-31 characters for 70% of
    firms, eight digits for older ones) and the GB 32100 check character.
    """
    n = len(serial)
    alphabet = np.array(list(USCC_ALPHABET))
    new_style = rng.random(n) < 0.7
    # Organisation code body, as USCC alphabet indexes (digits 0-9 are their own index).
    body = np.zeros((n, 8), dtype=np.int64)
    body[:, 0], body[:, 1] = USCC_ALPHABET.index("M"), USCC_ALPHABET.index("A")
    rest = serial.copy()
    for pos in range(7, 1, -1):
        body[:, pos] = rest % 31
        rest //= 31
    digits = serial.copy()
    for pos in range(7, -1, -1):
        body[~new_style, pos] = digits[~new_style] % 10
        digits //= 10
    # GB 11714 values: 0-9 and A=10 … Z=35; check 10 is written X and 11 is written 0.
    org_value = np.array([int(c, 36) for c in USCC_ALPHABET], dtype=np.int64)[body]
    org_check = 11 - (org_value @ _ORG_WEIGHTS) % 11
    org_check = np.where(org_check == 10, USCC_ALPHABET.index("X"), org_check % 11)
    head = np.concatenate([np.tile([9, 1], (n, 1)), district], axis=1)
    index = np.concatenate([head, body, org_check[:, None]], axis=1)  # (n, 17) alphabet indexes
    check = -(index @ _USCC_WEIGHTS) % 31
    full = alphabet[np.concatenate([index, check[:, None]], axis=1)]
    return np.array(["".join(r) for r in full.tolist()], dtype=object)


@dataclass
class BadCounts:
    """Rows made wrong on purpose, by kind (disjoint: one fault per bad row)."""

    bad_check_char: int = 0
    future_date: int = 0
    negative_capital: int = 0
    ragged_row: int = 0
    duplicate_key: int = 0

    def total(self) -> int:
        return sum(asdict(self).values())


def _dates(days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Days since 1970 as text in the formats registries use (ISO, 年月日, compact, slashes)."""
    d64 = days.astype("datetime64[D]")
    iso = np.datetime_as_string(d64).astype(object)
    y = d64.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d64.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (d64 - d64.astype("datetime64[M]")).astype(np.int64) + 1
    ys, ms, ds = _str(y), _str(m), _str(d)
    style = rng.random(len(days))
    out = iso.copy()
    cn = style < 0.2
    out[cn] = ys[cn] + "年" + ms[cn] + "月" + ds[cn] + "日"
    compact = (style >= 0.2) & (style < 0.3)
    out[compact] = np.array([s.replace("-", "") for s in iso[compact].tolist()], dtype=object)
    slash = (style >= 0.3) & (style < 0.35)
    out[slash] = ys[slash] + "/" + ms[slash] + "/" + ds[slash]
    return out


def make_chunk(
    start: int,
    n: int,
    rng: np.random.Generator,
    places: Places,
    scopes: np.ndarray,
    bad_share: float,
    bad: BadCounts,
) -> list[tuple[str, ...]]:
    """Records ``start`` … ``start + n - 1`` as CSV rows, ~``bad_share`` of them wrong."""
    serial = np.arange(start, start + n, dtype=np.int64) + 1_000
    town = rng.integers(0, len(places.district_code), n)
    district = places.district_code[town]
    codes = credit_codes(serial, places.district_digits[town], rng)
    brand = _pick(rng, BRAND_CHARS, n) + _pick(rng, BRAND_CHARS, n)
    word = _pick(rng, INDUSTRY_WORDS, n)
    names = places.city[town] + brand + word + _pick(rng, SUFFIXES, n)
    one = rng.random(n) < 0.3
    given = _pick(rng, GIVEN_CHARS, n)
    given[~one] = given[~one] + _pick(rng, GIVEN_CHARS, int((~one).sum()))
    reps = _pick(rng, SURNAMES, n) + given
    capital = np.round(rng.lognormal(6.0, 1.6, n), 0).astype(np.int64) + 1
    caps = _str(capital)
    decimal = rng.random(n) < 0.1
    caps[decimal] = caps[decimal] + "." + _str(rng.integers(10, 100, int(decimal.sum())))
    thousands = (rng.random(n) < 0.1) & ~decimal
    caps[thousands] = np.array([f"{int(v):,}" for v in capital[thousands]], dtype=object)
    established = _dates(rng.integers(7300, 20600, n), rng)  # 1989 … 2026
    scope = scopes[rng.integers(0, len(scopes), n)] + "；" + scopes[rng.integers(0, len(scopes), n)]
    address = (
        places.prefix[town]
        + _pick(rng, ROADS, n)
        + _str(rng.integers(1, 3000, n))
        + "号"
        + _pick(rng, BRAND_CHARS, n)
        + "大厦"
        + _str(rng.integers(1, 40, n))
        + "楼"
    )
    former = np.full(n, "", dtype=object)
    renamed = rng.random(n) < 0.08
    k = int(renamed.sum())
    former[renamed] = (
        places.city[town[renamed]]
        + _pick(rng, BRAND_CHARS, k)
        + _pick(rng, BRAND_CHARS, k)
        + "投资有限公司"
    )
    twice = renamed & (rng.random(n) < 0.25)
    former[twice] = former[twice] + "；" + places.city[town[twice]] + brand[twice] + "实业有限公司"

    # Deliberate faults, one per bad row, in five equal kinds.
    faulty = np.flatnonzero(rng.random(n) < bad_share)
    kind = rng.integers(0, 5, len(faulty))
    for i in faulty[kind == 0]:  # wrong check character
        c = codes[i]
        codes[i] = (
            c[:-1] + USCC_ALPHABET[(USCC_ALPHABET.index(c[-1]) + 1 + int(rng.integers(30))) % 31]
        )
    bad.bad_check_char += int((kind == 0).sum())
    future = faulty[kind == 1]
    established[future] = _dates(rng.integers(43_000, 83_000, len(future)), rng)  # 2087 … 2197
    bad.future_date += len(future)
    negative = faulty[kind == 2]
    caps[negative] = "-" + caps[negative]
    bad.negative_capital += len(negative)
    ragged = set(faulty[kind == 3].tolist())
    bad.ragged_row += len(ragged)
    clean = np.ones(n, dtype=bool)
    clean[faulty] = False
    for i in faulty[kind == 4]:  # the credit code of an earlier, valid record of the chunk
        earlier = np.flatnonzero(clean[max(0, i - 1000) : i])
        if len(earlier):
            codes[i] = codes[max(0, i - 1000) + int(rng.choice(earlier))]
            bad.duplicate_key += 1

    columns = [
        _str(serial - 999),
        codes,
        names,
        reps,
        caps,
        _pick(rng, CURRENCIES, n),
        established,
        _pick(rng, STATUSES, n),
        _pick(rng, FORMS, n),
        scope,
        _pick(rng, INDUSTRY_CODES, n),
        address,
        district,
        former,
    ]
    rows: list[tuple[str, ...]] = list(zip(*columns, strict=True))
    for i in ragged:  # a cut-off line, or one with a stray extra field
        rows[i] = rows[i][: int(rng.integers(3, 13))] if i % 2 else (*rows[i], "备注")
    return rows


def generate(path: Path, rows: int, seed: int, bad_share: float) -> BadCounts:
    """Write a registry CSV of ``rows`` records (GB18030) in bounded-memory chunks."""
    rng = np.random.default_rng(seed)
    places, scopes, bad = Places.load(), _scope_pool(rng), BadCounts()
    with open(path, "wb") as fh:
        for start in range(0, rows, GEN_CHUNK):
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\r\n")
            if start == 0:
                writer.writerow(HEADER)
            chunk = make_chunk(
                start, min(GEN_CHUNK, rows - start), rng, places, scopes, bad_share, bad
            )
            writer.writerows(chunk)
            fh.write(buf.getvalue().encode("gb18030"))
    return bad


# --- measuring -------------------------------------------------------------------------


@dataclass
class Result:
    """One measured ingest."""

    rows: int
    file_mb: float
    generate_seconds: float
    seconds: float
    rows_per_second: float
    mb_per_second: float
    peak_rss_mib: float
    median_rss_mib: float  # of the 50 ms samples: the level while streaming
    polled_peak_rss_mib: float
    cpu_seconds: float
    rows_read: int
    rows_stored: int
    rows_quarantined: int
    warnings: int  # records stored with a warning (none planted)
    quarantine_entries: int
    expected_bad: int
    lake_mb: float
    load_average: tuple[float, float]  # 1-minute load before and after: other work competing
    bad_rows: dict[str, int] = field(default_factory=dict)
    rss_timeline: list[tuple[float, float]] = field(default_factory=list)  # (s, MiB)


def measure(
    cmd: list[str], log: Path, env: dict[str, str]
) -> tuple[dict[str, Any], list[tuple[float, float]]]:
    """Run ``cmd`` under the wrapper; its usage figures and a polled RSS timeline."""
    returncode, info, t0, samples = run_wrapped(cmd, log, env)
    timeline = [(round(t - t0, 2), round(rss / MiB, 1)) for t, _, rss in samples]
    if returncode or info["rc"]:
        sys.exit(f"ingest failed (exit {info['rc']}); see {log}:\n{log.read_text()[-3000:]}")
    return info, timeline


def _thin(timeline: list[tuple[float, float]], points: int = 120) -> list[tuple[float, float]]:
    out = timeline[:: max(1, len(timeline) // points)]
    return out + timeline[-1:] if timeline and out[-1] != timeline[-1] else out


def _db_counts(home: Path) -> tuple[int, int, int, int, int]:
    con = sqlite3.connect(home / "fengyan.db")
    try:
        read, stored, quarantined, warnings = con.execute(
            "SELECT sum(rows_read), sum(rows_stored), sum(rows_quarantined), sum(warnings) "
            "FROM ingest_batch"
        ).fetchone()
        (entries,) = con.execute("SELECT count(*) FROM quarantine").fetchone()
    finally:
        con.close()
    return int(read or 0), int(stored or 0), int(quarantined or 0), int(warnings or 0), int(entries)


def run_size(rows: int, seed: int, bad_share: float, keep: bool, env: dict[str, str]) -> Result:
    """Generate one file, ingest it into a fresh data folder, collect the figures."""
    label = f"registry_{rows}"
    csv_path, mapping = WORK / f"{label}.csv", WORK / f"{label}.mapping.yaml"
    home = WORK / f"home_{rows}"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copyfile(MAPPING_FILE, mapping)
    t0 = time.perf_counter()
    bad = generate(csv_path, rows, seed, bad_share)
    gen_seconds = time.perf_counter() - t0
    size_mb = csv_path.stat().st_size / 1e6
    print(
        f"  {rows:>9,} rows: generated {size_mb:,.1f} MB in {gen_seconds:.1f} s; ingesting …",
        flush=True,
    )
    cmd = [
        sys.executable,
        "-m",
        "fengyan",
        "ingest",
        str(csv_path),
        "--type",
        "Enterprise",
        "--source",
        SOURCE,
        "--mapping",
        str(mapping),
        "--home",
        str(home),
    ]
    load_before = os.getloadavg()[0]
    info, timeline = measure(cmd, WORK / f"{label}.log", env)
    load_after = os.getloadavg()[0]
    read, stored, quarantined, warnings, entries = _db_counts(home)
    lake = sum(p.stat().st_size for p in (home / "lake").rglob("*.parquet")) / 1e6
    if not keep:
        shutil.rmtree(home, ignore_errors=True)
        for p in (csv_path, mapping, WORK / f"{label}.log", WORK / f"{label}.usage.json"):
            p.unlink(missing_ok=True)
    return Result(
        rows=rows,
        file_mb=round(size_mb, 1),
        generate_seconds=round(gen_seconds, 2),
        seconds=round(info["wall"], 2),
        rows_per_second=round(rows / info["wall"]),
        mb_per_second=round(size_mb / info["wall"], 1),
        peak_rss_mib=round(info["maxrss_kib"] / 1024, 1),
        median_rss_mib=round(float(np.median([m for _, m in timeline])), 1) if timeline else 0.0,
        polled_peak_rss_mib=max((m for _, m in timeline), default=0.0),
        cpu_seconds=round(info["cpu"], 2),
        rows_read=read,
        rows_stored=stored,
        rows_quarantined=quarantined,
        warnings=warnings,
        quarantine_entries=entries,
        expected_bad=bad.total(),
        lake_mb=round(lake, 1),
        load_average=(round(load_before, 2), round(load_after, 2)),
        bad_rows=asdict(bad),
        rss_timeline=_thin(timeline),
    )


def baseline_rss(env: dict[str, str]) -> float:
    """Peak RSS of ``python -m fengyan version``: the interpreter and imports alone."""
    WORK.mkdir(parents=True, exist_ok=True)
    info, _ = measure([sys.executable, "-m", "fengyan", "version"], WORK / "baseline.log", env)
    for p in (WORK / "baseline.log", WORK / "baseline.usage.json"):
        p.unlink(missing_ok=True)
    return round(float(info["maxrss_kib"]) / 1024, 1)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    from importlib.metadata import version

    import pyarrow

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "fengyan": version("fengyan"),
        "pyarrow": pyarrow.__version__,
        "duckdb": version("duckdb"),
        "numpy": np.__version__,
    }


COLUMNS = (
    "rows",
    "file MB",
    "seconds",
    "rows/s",
    "MB/s",
    "peak RSS MiB",
    "median RSS MiB",
    "CPU s",
    "stored",
    "quarantined",
)


def table_rows(results: list[Result]) -> list[list[str]]:
    return [
        [
            f"{r.rows:,}",
            f"{r.file_mb:,.1f}",
            f"{r.seconds:.1f}",
            f"{r.rows_per_second:,}",
            f"{r.mb_per_second:.1f}",
            f"{r.peak_rss_mib:,.0f}",
            f"{r.median_rss_mib:,.0f}",
            f"{r.cpu_seconds:.1f}",
            f"{r.rows_stored:,}",
            f"{r.rows_quarantined:,}",
        ]
        for r in results
    ]


def print_columns(columns: Sequence[str], body: list[list[str]]) -> None:
    """Print a right-aligned text table (shared with the other benchmarks)."""
    widths = [max(len(c), *(len(r[i]) for r in body)) for i, c in enumerate(columns)]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    for r in body:
        print("  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)))


def print_table(results: list[Result]) -> None:
    print_columns(COLUMNS, table_rows(results))


def markdown(results: list[Result], info: dict[str, Any], baseline: float, command: str) -> str:
    lines = [
        "# Ingestion benchmark results",
        "",
        f"Command: `{command}`  ",
        f"Measured {info['date']} on {info['nproc']} CPUs ({info['cpu']}), "
        f"{info['memory_gib']} GiB RAM, Python {info['python']}, fengyan {info['fengyan']}, "
        f"pyarrow {info['pyarrow']}, duckdb {info['duckdb']}.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---:" for _ in COLUMNS) + "|",
        *("| " + " | ".join(r) + " |" for r in table_rows(results)),
        "",
        "Seconds: wall time of the whole `python -m fengyan ingest` process, start-up included.",
        "Peak RSS: the process's `ru_maxrss`. Median RSS: median of the 50 ms samples, the level",
        "while streaming. CPU s: user + system time (all threads).",
        f"Peak RSS of `python -m fengyan version` (interpreter and imports): {baseline:.0f} MiB.",
        "",
    ]
    for r in results:
        check = "ok" if r.rows_quarantined == r.expected_bad else "MISMATCH"
        lines.append(
            f"- {r.rows:,} rows: {r.expected_bad:,} bad rows planted {r.bad_rows} → "
            f"{r.rows_quarantined:,} quarantined ({check}), {r.warnings:,} warnings; "
            f"lake file {r.lake_mb} MB; "
            f"load average {r.load_average[0]} before, {r.load_average[1]} after."
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", help="comma-separated row counts (default: 100k, 300k, 1M)")
    parser.add_argument("--quick", action="store_true", help="20k and 50k rows: a smoke test")
    parser.add_argument("--keep", action="store_true", help="keep generated files and data folders")
    parser.add_argument("--seed", type=int, default=20240630)
    parser.add_argument("--bad-share", type=float, default=0.01, help="share of faulty rows")
    parser.add_argument("--chunk-rows", type=int, help="FENGYAN_CHUNK_ROWS for the ingest")
    parser.add_argument("--no-save", action="store_true", help="print only; leave results/ alone")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where ingest.json/.md go")
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = tuple(int(s.replace("_", "")) for s in args.sizes.split(","))
    else:
        sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES

    env = {k: v for k, v in os.environ.items() if not k.startswith("FENGYAN_")}
    env.pop("SOURCE_DATE_EPOCH", None)
    env["FENGYAN_LANG"] = "en"
    if args.chunk_rows:
        env["FENGYAN_CHUNK_ROWS"] = str(args.chunk_rows)
    WORK.mkdir(parents=True, exist_ok=True)
    info = machine()
    info["chunk_rows"] = args.chunk_rows or 50_000
    print(
        f"fengyan {info['fengyan']}, Python {info['python']}, {info['nproc']} CPUs, {info['cpu']}"
    )
    baseline = baseline_rss(env)
    results = [run_size(n, args.seed, args.bad_share, args.keep, env) for n in sizes]
    print()
    print_table(results)
    print(f"\nimports-only baseline RSS: {baseline:.0f} MiB")
    for r in results:
        if r.rows_quarantined != r.expected_bad:
            print(
                f"warning: {r.rows:,} rows: {r.rows_quarantined} quarantined, {r.expected_bad} bad"
            )
    if not args.keep:
        shutil.rmtree(WORK, ignore_errors=True)
    if args.no_save:
        return
    command = " ".join(
        ["python benchmarks/bench_ingest.py", *(sys.argv[1:] if argv is None else argv)]
    )
    payload = {
        "machine": info,
        "command": command,
        "baseline_rss_mib": baseline,
        "results": [asdict(r) for r in results],
    }
    save_results(args.output, "ingest", payload, markdown(results, info, baseline, command))


if __name__ == "__main__":
    main()
