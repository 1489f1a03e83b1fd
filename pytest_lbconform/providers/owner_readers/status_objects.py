"""Status-object owner report: labelled objects naming a service and its announcing node, one per node (MetalLB's
ServiceL2Status: ``metallb.io/v1beta1`` ``servicel2statuses``, label ``metallb.io/node``, metallb
``internal/k8s/controllers/layer2_status_controller.go``)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from ..kube_model import StatusObjectsReport
from . import Holders, first_at


def by_service(items: Iterable[Mapping[str, Any]], report: StatusObjectsReport, namespace: str | None = None,
               exclude: Collection[str] = ()) -> dict[str, Holders]:
    """Service name → the distinct nodes its status objects name (the first of ``report.node``'s paths present),
    leaving out objects of nodes in ``exclude`` (faulted or NotReady) and, with ``namespace``, of services in other
    namespaces. Where paths disagree (an immutable ``status.node`` of an older MetalLB, metallb#2930) the first wins
    and the note says so."""
    found: dict[str, set[str]] = {}
    notes: dict[str, list[str]] = {}
    for item in items:
        service = first_at(item, report.service)
        owner_ns = first_at(item, report.service_namespace) if report.service_namespace else None
        if service is None or (namespace is not None and owner_ns and owner_ns != namespace):
            continue
        node = first_at(item, report.node)
        if node is None:
            continue
        others = {v for v in (first_at(item, [p]) for p in report.node[1:]) if v is not None and v != node}
        if others:
            notes.setdefault(service, []).append(f"{report.node[0]} {node} ≠ {', '.join(sorted(others))}: "
                                                 f"{report.node[0]} used")
        if node in exclude:
            notes.setdefault(service, []).append(f"left out the object of {node} (faulted or NotReady)")
            continue
        found.setdefault(service, set()).add(node)
    return {svc: Holders(tuple(sorted(found.get(svc, ()))), report.plural, "; ".join(notes.get(svc, [])))
            for svc in sorted(set(found) | set(notes))}
