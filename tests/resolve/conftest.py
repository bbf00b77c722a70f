"""A small simulated city, ingested and resolved once per test session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fengyan.graph.service import GraphReport, build_graph
from fengyan.ingest.service import ingest_path
from fengyan.resolve.service import ResolveReport, resolve
from fengyan.settings import Settings
from fengyan.simulate.params import load_params
from fengyan.simulate.service import simulate
from fengyan.workspace import Workspace


@dataclass
class ResolvedCity:
    """A city's deliveries, truth, and a workspace after ``resolve`` and ``graph``."""

    city: Path
    truth: Path
    ws: Workspace
    report: ResolveReport
    graph: GraphReport


def make_workspace(home: Path) -> Workspace:
    """A SQLite workspace in ``home`` (the lake under ``home/lake``)."""
    ws = Workspace(
        Settings(
            home=home,
            lake_dir=home / "lake",
            database_url=f"sqlite:///{home / 'fengyan.db'}",
            chunk_rows=50_000,
            pseudonym_key_env="test-key",
        )
    )
    ws.init()
    return ws


@pytest.fixture(scope="session")
def resolved_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ResolvedCity]:
    """2,000 firms over 12 months (seed 11), ingested, resolved and graphed once."""
    root = tmp_path_factory.mktemp("resolved")
    city = root / "city"
    simulate(city, load_params(**{"enterprises.count": 2000, "calendar.months": 12}), seed=11)
    ws = make_workspace(root / "home")
    ingest_path(ws, city)
    report = resolve(ws)
    graph = build_graph(ws)
    yield ResolvedCity(city, city / "ground_truth", ws, report, graph)
    ws.engine.dispose()


@pytest.fixture
def city_copy(resolved_city: ResolvedCity, tmp_path: Path) -> Iterator[Workspace]:
    """A private copy of the resolved city's workspace, for tests that write decisions."""
    home = tmp_path / "home"
    shutil.copytree(resolved_city.ws.settings.home, home)
    ws = make_workspace(home)
    yield ws
    ws.engine.dispose()
