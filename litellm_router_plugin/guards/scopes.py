"""Budget scopes: the kinds (global, user, key, team) and the store's name of each (keys hashed)."""

from __future__ import annotations

import functools
import hashlib
from typing import Literal

ScopeKind = Literal["global", "user", "key", "team"]
SCOPE_KINDS: tuple[ScopeKind, ...] = ("global", "user", "key", "team")


def scope_name(kind: ScopeKind, value: str | None) -> str | None:
    """The store's name of a scope: ``global``, ``user:alice``, ``key:<sha256 prefix>``, ``team:ml``."""
    if kind == "global":
        return "global"
    if not value:
        return None
    if kind == "key":
        return _key_scope(value)
    return f"{kind}:{value}"


@functools.lru_cache(maxsize=4096)
def _key_scope(key: str) -> str:
    # API keys are secrets: only a hash of one ever reaches the store or a message. Cached: every
    # request needs it up to four times (scopes, per-request limit, ledger), from few distinct keys.
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def applicable_scopes(user: str | None, key: str | None, team: str | None) -> list[tuple[ScopeKind, str]]:
    """(kind, store name) of every scope a request with this identity belongs to."""
    pairs: tuple[tuple[ScopeKind, str | None], ...] = (
        ("global", None),
        ("user", user),
        ("key", key),
        ("team", team),
    )
    return [(kind, name) for kind, value in pairs if (name := scope_name(kind, value)) is not None]
