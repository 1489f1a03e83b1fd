"""Owner-report readers: one small module per way an LB reports the node announcing a VIP (``kube_model.OwnerReport``).

Each takes objects shaped as the Kubernetes API returns them (plain JSON dicts) or the agent's JSON answer, and
returns :class:`Holders`; none talks to a cluster (``providers/kube_l2.py`` fetches, they read).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Holders:
    """The nodes an LB's own report names as announcing one service, where it says so, and what was corrected."""

    nodes: tuple[str, ...]
    source: str
    note: str = ""

    @property
    def node(self) -> str | None:
        return self.nodes[0] if len(self.nodes) == 1 else None


def value_at(obj: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` in an API object: ``label:KEY``, ``annotation:KEY`` or a dotted field (``status.node``);
    None where absent."""
    meta = obj.get("metadata") or {}
    if path.startswith("label:"):
        return (meta.get("labels") or {}).get(path.removeprefix("label:"))
    if path.startswith("annotation:"):
        return (meta.get("annotations") or {}).get(path.removeprefix("annotation:"))
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def first_at(obj: Mapping[str, Any], paths: list[str]) -> str | None:
    """The first non-empty value of ``paths`` in ``obj``, as text."""
    for path in paths:
        value = value_at(obj, path)
        if value not in (None, ""):
            return str(value)
    return None
