"""The access oracle: every route of the app, for users of every role at five levels on both
sides of a sibling boundary, against objects in every region — allow/deny must equal
``web/policy.yaml`` and objects of other regions must answer 404 (never 403).

Routes are classified in ``access_routes.yaml`` (data, next to this file); a route the app
has but the table lacks fails :func:`test_every_route_is_classified`, so every new page or
API route must be declared before it can land.

What is checked for each route:

* anonymous callers: public routes answer, API routes 401, pages redirect to the login form;
* the role dimension: every role (at district level on both sides of the boundary; at every
  level with ``FENGYAN_ORACLE_FULL=1``) against an object inside its scope — allowed exactly
  when the role holds the route's permission(s), 403 otherwise;
* the scope dimension: a role holding the permission at each of the ten scopes (five levels
  × home/sibling) against every object region — inside the scope allowed, outside 404; the
  same for region filters (``region_query``): disjoint regions 404;
* no response, whatever its status, names an object outside the caller's scope (each seeded
  firm and account carries a marker: ``神谕企业<code>``, ``oracle-firm-<code>``,
  ``acct-<code>``), exports included (xlsx is unpacked).
"""

from __future__ import annotations

import io
import itertools
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import yaml
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from fengyan.settings import Settings
from fengyan.web.app import create_app
from fengyan.web.deps import ViewProfile
from fengyan.web.policy import load_policy
from fengyan.workspace import Workspace
from tests.web.conftest import (
    HOME,
    LEVELS,
    OBJECT_REGIONS,
    SIBLING,
    TEST_SETTINGS,
    add_user,
    firm_id_for,
    firm_name_for,
    new_client,
    seed_published,
    signed_in_client,
    token_client_for,
)

TABLE: dict[str, dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "access_routes.yaml").read_text(encoding="utf-8")
)["routes"]
FULL = os.environ.get("FENGYAN_ORACLE_FULL") == "1"
ROLE_LEVELS = LEVELS if FULL else ("district",)
SIDES = {"home": HOME, "sibling": SIBLING}
# Region filter values tried: every object's community plus regions containing the home chain.
REGION_VALUES = (*OBJECT_REGIONS, HOME["province"], HOME["city"])


def account_for(code: str) -> str:
    """The seeded account living in region ``code``."""
    return f"acct-{code}"


# object kind → (path parameter, value for a region)
OBJECT_KINDS = {"firm": ("firm_id", firm_id_for), "account": ("username", account_for)}


def markers(code: str) -> tuple[str, ...]:
    """Strings that only a response showing the objects of region ``code`` contains."""
    return (firm_name_for(code), firm_id_for(code), account_for(code))


@dataclass(frozen=True)
class Actor:
    """A caller: role and scope (None for anonymous) and its two clients."""

    name: str
    role: str | None
    scope: str
    api: TestClient  # Authorization: Bearer
    page: TestClient  # session cookie + X-CSRF-Token

    def sees(self, code: str) -> bool:
        return bool(self.scope) and code.startswith(self.scope)


@dataclass
class World:
    app: FastAPI
    actors: dict[tuple[str, str, str], Actor]
    anonymous: Actor
    counter: Iterator[int]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("oracle") / "home"
    ws = Workspace(Settings(home=home, lake_dir=home / "lake",
                            database_url=f"sqlite:///{home / 'fengyan.db'}", chunk_rows=1000,
                            pseudonym_key_env="test-key"))  # fmt: skip
    ws.init()
    app = create_app(ws, TEST_SETTINGS)
    seed_published(ws)
    for code in OBJECT_REGIONS:
        add_user(app, account_for(code), "grid_worker", code)
    actors = {}
    for role, level, side in itertools.product(load_policy().roles, LEVELS, SIDES):
        user = add_user(app, f"o-{role}-{level}-{side}", role, SIDES[side][level])
        actors[(role, level, side)] = Actor(user.username, role, user.scope,
                                            token_client_for(app, user),
                                            signed_in_client(app, user))  # fmt: skip
    anonymous_client = new_client(app)
    yield World(app, actors, Actor("anonymous", None, "", anonymous_client, anonymous_client),
                itertools.count(1))  # fmt: skip
    for actor in actors.values():
        actor.api.close()
        actor.page.close()
    ws.engine.dispose()


# ---- the classification table --------------------------------------------------------------


def app_route_keys(app: FastAPI) -> set[str]:
    """ "METHOD /path" for every route of the app ("MOUNT /path" for mounts), included
    routers flattened (FastAPI keeps them as lazy ``_IncludedRouter`` entries)."""
    keys = set()
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, Mount):
            keys.add(f"MOUNT {context.path}")
            continue
        methods = context.methods or {"GET"}
        keys |= {f"{m} {context.path}" for m in methods if m != "HEAD"}
    return keys


def test_every_route_is_classified(world: World) -> None:
    routes = app_route_keys(world.app)
    missing = sorted(routes - set(TABLE))
    stale = sorted(set(TABLE) - routes)
    assert not missing, f"routes missing from tests/web/access_routes.yaml: {missing}"
    assert not stale, f"entries in access_routes.yaml for routes that do not exist: {stale}"


def test_the_table_names_only_declared_permissions_and_kinds() -> None:
    declared = set(load_policy().permissions) | {"public", "authenticated"}
    for key, spec in TABLE.items():
        if "skip" in spec:
            continue
        perms = spec["permission"] if isinstance(spec["permission"], list) else [spec["permission"]]
        assert set(perms) <= declared, key
        assert spec.get("object") in (None, *OBJECT_KINDS), key


# ---- expectations and requests -------------------------------------------------------------


def permissions_of(spec: dict[str, Any]) -> list[str]:
    perm = spec["permission"]
    return perm if isinstance(perm, list) else [perm]


def expected(spec: dict[str, Any], actor: Actor, obj: str | None, region: str | None) -> str | int:
    """ "ok", "login" or a status code."""
    perms = permissions_of(spec)
    if perms == ["public"]:
        return "ok"
    if actor.role is None:
        return "login"
    policy = load_policy()
    if perms != ["authenticated"] and not all(policy.allows(actor.role, p) for p in perms):
        return 403
    if obj is not None and not actor.sees(obj):
        return 404
    if region is not None and not (
        region.startswith(actor.scope) or actor.scope.startswith(region)
    ):
        return 404
    return "ok"


def fill(value: Any, actor: Actor, n: int) -> Any:
    if isinstance(value, str):
        return value.replace("{scope}", actor.scope or "44").replace("{n}", str(n))
    if isinstance(value, dict):
        return {k: fill(v, actor, n) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, actor, n) for v in value]
    return value


def send(world: World, key: str, spec: dict[str, Any], actor: Actor, obj: str | None,
         region: str | None) -> httpx.Response:  # fmt: skip
    method, path = key.split(" ", 1)
    n = next(world.counter)
    params = dict(fill(spec.get("path", {}), actor, n))
    if spec.get("object"):
        name, value_for = OBJECT_KINDS[spec["object"]]
        assert obj is not None
        params[name] = value_for(obj)
    url = spec.get("url") or path.format(**params)
    query = dict(fill(spec.get("query", {}), actor, n))
    if region is not None:
        query[spec["region_query"]] = region
    api = url.startswith("/api/") or url == "/openapi.json"
    client = actor.api if api else actor.page
    kwargs: dict[str, Any] = {"params": query}
    if "json" in spec:
        kwargs["json"] = fill(spec["json"], actor, n)
    if "form" in spec:
        kwargs["data"] = fill(spec["form"], actor, n)
    if "body" in spec:
        kwargs["content"] = fill(spec["body"], actor, n).encode()
        kwargs["headers"] = {"Content-Type": spec["content_type"]}
    response: httpx.Response = client.request("GET" if method == "MOUNT" else method, url, **kwargs)
    return response


def body_text(response: httpx.Response) -> str:
    if "spreadsheetml" in response.headers.get("content-type", ""):
        with zipfile.ZipFile(io.BytesIO(response.content)) as book:
            return "".join(book.read(n).decode("utf-8", "replace") for n in book.namelist())
    return response.text


def judge(spec: dict[str, Any], actor: Actor, obj: str | None, region: str | None,
          response: httpx.Response) -> list[str]:  # fmt: skip
    """What is wrong with ``response`` (empty when it is right)."""
    want = expected(spec, actor, obj, region)
    status, location = response.status_code, response.headers.get("location", "")
    to_login = status == 303 and location.startswith("/login")
    api = str(response.request.url.path).startswith("/api/")
    if want == "ok":
        good = status in spec["ok"] if "ok" in spec else (200 <= status < 400 and not to_login)
    elif want == "login":
        good = status == 401 if api else to_login
    else:
        good = status == want
    problems = []
    where = f"{actor.name} obj={obj} region={region}"
    if not good:
        problems.append(f"{where}: expected {want}, got {status} {location}")
    if spec.get("leak_check", True):
        text = body_text(response)
        # What the caller sent may come back (a 404 page's return link names the path).
        sent = unquote(str(response.request.url)) + response.request.content.decode("utf-8")
        leaked = [m for code in OBJECT_REGIONS if not actor.sees(code) for m in markers(code)
                  if m in text and m not in sent]  # fmt: skip
        if leaked:
            problems.append(f"{where}: response ({status}) names other regions' objects {leaked}")
    return problems


def plan(world: World, spec: dict[str, Any]) -> Iterator[tuple[Actor, str | None, str | None]]:
    """(actor, object region, region filter) triples to try for a route."""
    has_object = bool(spec.get("object"))

    def own_object(actor: Actor) -> str | None:
        return next(c for c in OBJECT_REGIONS if actor.sees(c)) if has_object else None

    yield world.anonymous, OBJECT_REGIONS[0] if has_object else None, None
    for role, level, side in itertools.product(load_policy().roles, ROLE_LEVELS, SIDES):
        actor = world.actors[(role, level, side)]
        yield actor, own_object(actor), None
    perms = permissions_of(spec)
    if perms == ["public"] or not (has_object or spec.get("region_query")):
        return
    policy = load_policy()
    holders = [
        r
        for r in policy.roles
        if perms == ["authenticated"] or all(policy.allows(r, p) for p in perms)
    ]
    assert holders, f"no role holds {perms}"
    for level, side in itertools.product(LEVELS, SIDES):
        actor = world.actors[(holders[0], level, side)]
        if has_object:
            for code in OBJECT_REGIONS:
                yield actor, code, None
        if spec.get("region_query"):
            for code in REGION_VALUES:
                yield actor, own_object(actor), code


def check_route(world: World, key: str, spec: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for actor, obj, region in plan(world, spec):
        response = send(world, key, spec, actor, obj, region)
        problems += judge(spec, actor, obj, region, response)
    return problems


@pytest.mark.parametrize("key", sorted(TABLE))
def test_route_access_matches_the_policy(world: World, key: str) -> None:
    spec = TABLE[key]
    if "skip" in spec:
        pytest.skip(spec["skip"])
    if key not in app_route_keys(world.app):
        pytest.fail(f"{key} is in access_routes.yaml but not in the app")
    problems = check_route(world, key, spec)
    assert not problems, f"{key}: {len(problems)} problem(s)\n" + "\n".join(problems[:40])


def test_the_oracle_catches_a_route_that_forgets_the_scope(world: World) -> None:
    # A deliberately broken route: the permission is checked, the jurisdiction is not.
    def leaky(firm_id: str, who: ViewProfile) -> dict[str, str]:
        return {"name": firm_name_for(firm_id.removeprefix("oracle-firm-"))}

    world.app.add_api_route("/api/v1/leaky/{firm_id}", leaky)
    try:
        spec = {"permission": "view_profile", "object": "firm"}
        problems = check_route(world, "GET /api/v1/leaky/{firm_id}", spec)
    finally:
        world.app.router.routes.pop()
    wrong_status = [p for p in problems if "expected 404, got 200" in p]
    leaks = [p for p in problems if "names other regions' objects" in p]
    # 10 scopes × 6 objects, of which the home chain sees 5+4+3+2+1 and each sibling 1:
    # 60 − 20 = 40 answers that must have been 404 and leaked instead.
    assert len(wrong_status) == len(leaks) == 40
