"""Values as a person reads them in a verdict's text, on the certification page and in Allure: never a Python
repr (``{'worker2': 146}``, ``['webpod1']``) but ``worker2: 146`` and ``webpod1``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def readable(value: Any) -> str:
    """``{'worker2': 146, 'worker3': 154}`` → ``worker2: 146, worker3: 154``; ``['a', 'b']`` → ``a, b``;
    nested containers in parentheses; an empty container or None → ``none``; a set sorted."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{readable(k)}: {_nested(v)}" for k, v in value.items()) or "none"
    if isinstance(value, (set, frozenset)):
        value = sorted(value, key=str)
    if isinstance(value, (list, tuple)):
        return ", ".join(_nested(v) for v in value) or "none"
    return str(value)


def _nested(value: Any) -> str:
    text = readable(value)
    return f"({text})" if isinstance(value, (Mapping, list, tuple, set, frozenset)) and value else text
