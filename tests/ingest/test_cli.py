"""The command line reads well: help for every command, the schema, the quarantine in both
languages, and the demo from an empty folder to a populated store."""

from __future__ import annotations

from pathlib import Path

import pytest

from fengyan import __version__
from fengyan.schema import load_schema

from .builders import Cli, flat, registry_row, write_registry

COMMANDS = {
    "version": [],
    "init": ["--home"],
    "schema": ["TYPE_NAME"],
    "ingest": ["--type", "--source", "--mapping", "--encoding", "--format", "--as-of", "--home"],
    "batches": ["--home"],
    "quarantine": ["--batch", "--reason", "--severity", "--limit", "--offset", "--home"],
    "status": ["--home"],
    "demo": ["--sample", "--enterprises", "--home"],
    "docs": ["--out", "--check"],
}


def test_main_help_lists_every_command(cli: Cli) -> None:
    result = cli("--help")
    assert result.exit_code == 0, result.output
    shown = flat(result.output)
    assert "风眼Fengyan" in shown and "--lang" in shown
    for command in COMMANDS:
        assert f"│{command}" in shown, command


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_command_explains_its_options(cli: Cli, command: str) -> None:
    result = cli(command, "--help")
    assert result.exit_code == 0, result.output
    shown = flat(result.output)
    assert f"Usage:fengyan{command}" in shown
    for option in COMMANDS[command]:
        assert option.lower() in shown.lower(), option


def test_version(cli: Cli) -> None:
    result = cli("version")
    assert result.exit_code == 0
    assert result.output.strip() == f"fengyan {__version__}"


def test_schema_lists_every_type(cli: Cli) -> None:
    result = cli("schema")
    assert result.exit_code == 0, result.output
    shown = flat(result.output)
    for entity in load_schema():
        assert f"│{entity.name}│{flat(entity.label.zh)}│{entity.kind.value}│" in shown


def test_schema_of_one_type_lists_its_fields(cli: Cli) -> None:
    result = cli("schema", "Enterprise")
    assert result.exit_code == 0, result.output
    shown = flat(result.output)
    enterprise = load_schema().get("Enterprise")
    for field in enterprise.fields.values():
        assert f"│{field.name}│{flat(field.label.zh)}│{field.type.value}│" in shown
    assert "│credit_code│统一社会信用代码│credit_code│✓│" in shown  # the key is required


def test_schema_of_an_unknown_type_fails(cli: Cli) -> None:
    result = cli("--lang", "en", "schema", "Enterprize")
    assert result.exit_code == 2
    assert "unknown record type Enterprize" in result.stderr


def test_ingesting_a_file_needs_type_and_source(cli: Cli, tmp_path: Path) -> None:
    path, _ = write_registry(tmp_path, [registry_row(0)])
    result = cli("--lang", "en", "ingest", path, "--home", tmp_path / "home")
    assert result.exit_code == 2
    assert "needs --type and --source" in " ".join(result.stderr.split())


def test_demo_from_an_empty_folder(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "fresh"

    result = cli("demo", "--sample", "--no-serve", "--home", home)

    assert result.exit_code == 0, result.output
    shown = flat(result.output)
    for row in [
        "│registry_enterprises.csv│Enterprise│市场监管局│17│13│4│1│",
        "│persons.jsonl│Person│市场监管局│13│12│1│0│",
        "│shareholders.xlsx│Shareholding│市场监管局│24│23│1│0│",
        "│articles.jsonl│Article│舆情监测│3│3│0│0│",
        "│enterprise│13│13│",
        "│shareholding│23│23│",
    ]:
        assert row in shown, row
    assert "批次4个：读入57条，入库51条，隔离6条。" in shown
    assert (home / "fengyan.db").is_file()
    assert len(list((home / "lake").glob("*/batch-*.parquet"))) == 4


def test_quarantine_speaks_the_chosen_language(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert cli("demo", "--sample", "--no-serve", "--home", home).exit_code == 0

    # Chinese (the default) first: --lang sets the language for the rest of the process.
    chinese = cli("quarantine", "--home", home)
    english = cli("--lang", "en", "quarantine", "--home", home)

    assert english.exit_code == chinese.exit_code == 0
    en, zh = flat(english.output), flat(chinese.output)
    assert "Quarantine(8entries)" in en and "隔离区（共8条）" in zh
    for reason_en, reason_zh in [
        ("valuebelowtheminimum0", "数值小于下限0"),
        ("valueabovethemaximum100", "数值大于上限100"),
        ("duplicatekeywithinthefile:sameasrow3", "同一文件中主键重复，与第3行相同"),
        ("wrongnumberofcolumns:expected14,found3", "列数不符：应为14列，实为3列"),
    ]:
        assert reason_en in en and reason_zh not in en
        assert reason_zh in zh and reason_en not in zh


def test_quarantine_filters_from_the_command_line(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert cli("demo", "--sample", "--no-serve", "--home", home).exit_code == 0

    result = cli("--lang", "en", "quarantine", "--reason", "ingest_below_min", "--home", home)

    shown = flat(result.output)
    assert "Quarantine(1entries)" in shown
    assert "│registry_enterprises.csv│15│registered_capital│-50│" in shown
    assert "persons.jsonl" not in shown


def test_identifier_details_follow_the_chosen_language(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert cli("demo", "--sample", "--no-serve", "--home", home).exit_code == 0
    result = cli("--lang", "en", "quarantine", "--reason", "ingest_bad_identifier", "--home", home)
    assert "wrongcheckcharacter:expectedK,gotA" in flat(result.output)


def test_batches_show_the_delivery_date(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert cli("demo", "--sample", "--no-serve", "--home", home).exit_code == 0
    result = cli("batches", "--home", home)
    assert result.exit_code == 0
    assert flat(result.output).count("│2024-06-30│") == 4


def test_demo_simulates_and_ingests_a_city(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "city"
    args = ("demo", "--enterprises", "400", "--months", "6", "--no-serve", "--home", home)

    first = cli(*args)

    assert first.exit_code == 0, first.output
    shown = flat(first.output)
    assert "│Enterprise│" in shown and "│Complaint│" in shown
    city = home / "demo-city-400x6-seed1"
    truth = city / "ground_truth"
    assert (city / "manifest.yaml").is_file() and truth.is_dir()
    # Running it again reuses the city and ingests nothing new.
    lake_files = sorted((home / "lake").glob("*/batch-*.parquet"))
    assert cli(*args).exit_code == 0
    assert sorted((home / "lake").glob("*/batch-*.parquet")) == lake_files
