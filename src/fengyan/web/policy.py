"""Roles, permissions and masking levels, loaded from ``web/policy.yaml``.

The YAML decides; this module parses and checks it (every permission a role names must be
declared, every role needs a masking level) and answers "may role R do P".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from fengyan.yamlstrict import load_yaml

POLICY_FILE = "policy.yaml"
PUBLIC_ROLE = "public"


class PolicyError(ValueError):
    """``policy.yaml`` is malformed; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Role:
    """A role: its labels, what it may do and how it sees personal data."""

    name: str
    zh: str
    en: str
    masking: str
    permissions: frozenset[str]

    def label(self, lang: str) -> str:
        """The role's name in ``lang``."""
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class Policy:
    """The whole policy: declared permissions, masking levels and roles."""

    permissions: dict[str, dict[str, str]]
    masking_levels: dict[str, dict[str, str]]
    roles: dict[str, Role]
    public: Role

    def role(self, name: str) -> Role:
        """The role called ``name``; ``KeyError`` if there is none."""
        if name == PUBLIC_ROLE:
            return self.public
        return self.roles[name]

    def allows(self, role: str, permission: str) -> bool:
        """Whether ``role`` holds ``permission`` (unknown roles hold nothing)."""
        if permission not in self.permissions:
            raise PolicyError(f"{POLICY_FILE}: permission {permission!r} is not declared")
        found = self.roles.get(role)
        return found is not None and permission in found.permissions

    def roles_with(self, permission: str) -> list[str]:
        """Every role holding ``permission``, in file order."""
        return [r.name for r in self.roles.values() if permission in r.permissions]


def _labels(entry: Any, where: str) -> dict[str, str]:
    if not isinstance(entry, dict) or not all(
        isinstance(entry.get(k), str) and entry[k] for k in ("zh", "en")
    ):
        raise PolicyError(f"{where}: needs non-empty zh and en labels")
    return {"zh": entry["zh"], "en": entry["en"]}


def _role(name: str, spec: Any, policy: dict[str, Any], source: str) -> Role:
    where = f"{source}: role {name!r}"
    labels = _labels(spec, where)
    masking = spec.get("masking")
    if masking not in policy["masking_levels"]:
        raise PolicyError(f"{where}: masking {masking!r} is not a declared masking level")
    perms = spec.get("permissions", [])
    if not isinstance(perms, list):
        raise PolicyError(f"{where}: permissions must be a list")
    unknown = [p for p in perms if p not in policy["permissions"]]
    if unknown:
        raise PolicyError(f"{where}: undeclared permission(s) {', '.join(map(str, unknown))}")
    return Role(name, labels["zh"], labels["en"], masking, frozenset(perms))


def parse_policy(text: str, source: str = POLICY_FILE) -> Policy:
    """Parse and check a policy document."""
    data = load_yaml(text) or {}
    for key in ("permissions", "masking_levels", "roles", "public"):
        if not isinstance(data.get(key), dict):
            raise PolicyError(f"{source}: `{key}` must be a mapping")
    permissions = {
        str(k): _labels(v, f"{source}: permission {k!r}") for k, v in data["permissions"].items()
    }
    levels = {
        str(k): _labels(v, f"{source}: masking level {k!r}")
        for k, v in data["masking_levels"].items()
    }
    checked = {"permissions": permissions, "masking_levels": levels}
    if PUBLIC_ROLE in data["roles"]:
        raise PolicyError(f"{source}: `{PUBLIC_ROLE}` is not a role users can hold")
    roles = {str(k): _role(str(k), v, checked, source) for k, v in data["roles"].items()}
    public = _role(PUBLIC_ROLE, {**data["public"], "permissions": []}, checked, source)
    return Policy(permissions, levels, roles, public)


@cache
def load_policy(path: Path | None = None) -> Policy:
    """The policy shipped with the package (or the one at ``path``)."""
    if path is not None:
        return parse_policy(path.read_text(encoding="utf-8"), str(path))
    text = resources.files("fengyan.web").joinpath(POLICY_FILE).read_text(encoding="utf-8")
    return parse_policy(text)
