"""HTTP owner report: each agent answers on an endpoint whether its node is active for the VIPs (LoxiLB
``GET :11111/netlox/v1/config/cistate/all`` → ``{"Attr": [{"instance": "llb-inst0", "state": "MASTER"}]}``,
``api/swagger.yml`` ``CIStatusGetEntry``; default instance ``llb-inst0`` in ``common/common.go``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..kube_model import HttpReport
from . import Holders


def _at(node: Any, path: str | None) -> Any:
    for part in (path.split(".") if path else []):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def active(answer: Any, report: HttpReport) -> bool:
    """Whether one agent's JSON ``answer`` says its node is active: an item (at ``items``; the answer itself without)
    whose fields equal ``match`` has its ``state`` in ``active``."""
    found = _at(answer, report.items)
    items = found if isinstance(found, list) else [found]
    for item in items:
        if not isinstance(item, Mapping):
            continue
        if all(str(item.get(k)) == v for k, v in report.match.items()) and str(_at(item, report.state)) in report.active:
            return True
    return False


def holders(answers: Mapping[str, Any], report: HttpReport) -> Holders:
    """Node → its agent's answer (None: no answer) → the active nodes; the nodes that did not answer are noted."""
    silent = sorted(node for node, answer in answers.items() if answer is None)
    nodes = tuple(sorted(node for node, answer in answers.items() if answer is not None and active(answer, report)))
    return Holders(nodes, "http", f"no answer from {', '.join(silent)}" if silent else "")
