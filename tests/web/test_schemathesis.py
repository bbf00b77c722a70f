"""Property tests over the app's OpenAPI spec (schemathesis): no operation answers 5xx.

Every operation of ``/openapi.json`` gets a few generated requests (bounded: small
``max_examples``, no deadline, so the file runs in well under a minute on 2 cores), sent
in-process through ASGI with a bearer token. The world is the oracle's seeded run with
cases opened for its red firms, so case and firm routes meet real objects as well as
random ids. Tokens: the administrator for the account routes (the brief's "authenticated
admin client"), the agency for push ingestion, and a city investigator elsewhere — the
administrator holds no operational permission, so with it alone every other route would
only ever answer 403.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlalchemy.orm import Session

from fengyan.settings import Settings
from fengyan.web.app import create_app
from fengyan.workflow import open_cases_for_new_red
from fengyan.workspace import Workspace
from tests.web.conftest import TEST_SETTINGS, add_user, bearer_token, seed_published

TOKENS: dict[str, str] = {}


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: Any, value: Any) -> bytes:
    """Push bodies (JSON Lines): generated text as is, other values one JSON line each."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    items = value if isinstance(value, list) else [value]
    return "\n".join(json.dumps(v, ensure_ascii=False) for v in items).encode()


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("schemathesis") / "home"
    ws = Workspace(Settings(home=home, lake_dir=home / "lake",
                            database_url=f"sqlite:///{home / 'fengyan.db'}", chunk_rows=1000,
                            pseudonym_key_env="test-key"))  # fmt: skip
    ws.init()
    app = create_app(ws, TEST_SETTINGS)
    run_id = seed_published(ws)
    with Session(ws.engine) as s, s.begin():
        open_cases_for_new_red(s, run_id)
    for role, scope in (("admin", "4403"), ("investigator", "4403"), ("agency", "44")):
        TOKENS[role] = bearer_token(app, add_user(app, f"st-{role}", role, scope))
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    ws.engine.dispose()


def token_for(path: str) -> str:
    """The caller whose role can reach ``path`` at all."""
    if path.startswith("/api/v1/admin"):
        return TOKENS["admin"]
    if path.startswith("/api/v1/ingest"):
        return TOKENS["agency"]
    return TOKENS["investigator"]


# FENGYAN_SCHEMATHESIS_EXAMPLES=50 for a deeper search (the suite keeps the default small).
BOUND = settings(
    max_examples=int(os.environ.get("FENGYAN_SCHEMATHESIS_EXAMPLES", "6")),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)


def test_no_operation_answers_a_server_error(api_schema: Any) -> None:
    # One loop over the spec's operations (schemathesis' lazy pytest loader does not work
    # with this pytest): each operation gets BOUND examples, and every 5xx is collected.
    server_errors: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20, "the spec lost its operations"

    for operation in operations:

        @BOUND
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {token_for(case.path)}"})
            if response.status_code >= 500:
                server_errors.append(f"{case.method} {case.formatted_path} → "
                                     f"{response.status_code}: {response.text[:300]}")  # fmt: skip

        check()
    assert not server_errors, "\n".join(server_errors[:20])
