"""What a policy reload may change, and how a change is reported.

A reload must never loosen protection by accident: a file caught half way through a write (empty,
or cut before a section) parses as a valid policy with defaults, and defaults have no budgets. So a
new policy text is refused when it is empty, or when a setting the running policy gives explicitly
(a section such as ``budgets``, ``tiers``, ``store``, or a setting inside one) is missing or left
empty (``budgets:`` with nothing after it). Removing one takes an explicit ``null`` (``budgets: null``).
The same rule applies to a version published by another worker.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, get_args

import yaml
from pydantic import BaseModel

from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.errors import ConfigError


class _Empty:
    """A key written with nothing after it (``budgets:``): what a cut write leaves, not a removal."""

    def __repr__(self) -> str:
        return "<empty>"


EMPTY = _Empty()


class _Loader(yaml.SafeLoader):
    """YAML (and JSON) loader telling an empty value from an explicit ``null``/``~``."""


def _null(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return EMPTY if node.value == "" else None


_Loader.add_constructor("tag:yaml.org,2002:null", _null)


def _plain(data: Any) -> Any:
    """``data`` with every empty value as ``None`` (what ``yaml.safe_load`` gives)."""
    if data is EMPTY:
        return None
    if isinstance(data, Mapping):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


def _vanished(running: BaseModel, data: Mapping[str, Any], path: str = "") -> list[str]:
    """Settings ``running`` was given explicitly that ``data`` lacks or leaves empty (not ``null``):
    any top-level one, and inside a section those ``null`` removes (``budgets.global.daily``)."""
    gone: list[str] = []
    fields = type(running).model_fields
    for name in sorted(running.model_fields_set):
        value = getattr(running, name)
        if value is None:
            continue
        if path and type(None) not in get_args(fields[name].annotation):
            continue  # inside a section only settings that `null` can remove (a limit, a scope) count
        key = fields[name].alias or name
        here = f"{path}{key}"
        present = [k for k in (key, name) if k in data]
        if not present or data[present[0]] is EMPTY:
            gone.append(here)
        elif isinstance(value, BaseModel) and isinstance(data[present[0]], Mapping):
            gone += _vanished(value, data[present[0]], f"{here}.")
    return gone


def parse_policy(body: str, origin: str, running: PluginConfig | None = None) -> PluginConfig:
    """Validate a policy's text (YAML or JSON) completely; ``ConfigError`` names the field.

    With ``running`` (a reload), the text must also keep every setting the running policy gives."""
    try:
        data = yaml.load(body, Loader=_Loader)
    except yaml.YAMLError as exc:
        for mark in (getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)):
            if mark is not None:
                mark.name = origin  # the file, not "<unicode string>"
        raise ConfigError("config", origin, f"Not valid YAML/JSON: {exc}") from None
    if data is None or data is EMPTY:
        if running is None:
            data = {}
        else:
            raise ConfigError(
                "config", origin, "The file is empty (a write caught half way?). To reset every setting write `{}`."
            )
    if not isinstance(data, Mapping):
        raise ConfigError("config", type(data).__name__, "The top level must be a mapping of settings.")
    inner = data.get("router_plugin", EMPTY) if "router_plugin" in data else data
    if running is not None:
        gone = _vanished(running, inner if isinstance(inner, Mapping) else {})
        if gone:
            example = gone[0].rsplit(".", 1)[-1]
            raise ConfigError(
                ", ".join(gone),
                "missing",
                f"The running policy sets {', '.join(gone)} and this file does not (a write cut short?). "
                f"To remove a setting, write it with an explicit null, e.g. `{example}: null`.",
            )
    return PluginConfig.load(_plain(data))


_SECRET = re.compile(r"key|secret|password|credential|dsn|url|api_base|headers|^token$|access_token", re.I)


def _flat(data: Any, path: str, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(data, Mapping) and data:
        for key, value in data.items():
            _flat(value, f"{path}.{key}" if path else str(key), out)
    elif isinstance(data, list) and data:
        for i, value in enumerate(data):
            _flat(value, f"{path}[{i}]", out)
    else:
        out[path] = data
    return out


def policy_changes(old: PluginConfig, new: PluginConfig) -> list[str]:
    """Every setting that differs, as ``path: before -> after`` (secrets, URLs and DSNs as ``changed``)."""
    before = _flat(old.model_dump(mode="json", by_alias=True, fallback=repr), "", {})
    after = _flat(new.model_dump(mode="json", by_alias=True, fallback=repr), "", {})
    changes = []
    for path in sorted(before.keys() | after.keys()):
        a, b = before.get(path), after.get(path)
        if a == b:
            continue
        if (isinstance(a, str) or isinstance(b, str)) and _SECRET.search(path.rsplit(".", 1)[-1]):
            changes.append(f"{path}: changed")
        else:
            changes.append(f"{path}: {a} -> {b}")
    return changes
