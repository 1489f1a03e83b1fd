"""Lease owner report: a ``coordination.k8s.io/v1`` Lease per service (or one for all), ``spec.holderIdentity`` naming
the node (kube-vip ``kubevip-<service>``, Cilium ``cilium-l2announce-<namespace>-<service>``)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from ..kube_model import LeaseReport, fill
from . import Holders


def lease_key(report: LeaseReport, service: Mapping[str, Any]) -> tuple[str, str]:
    """(namespace, name) of the Lease that reports ``service`` (a Service object): the spec's pattern, or the
    Service's ``name_annotation`` (``[namespace/]name``; kube-vip ``pkg/services/processor.go``)."""
    meta = service.get("metadata") or {}
    values = {"service": str(meta.get("name", "")), "service_namespace": str(meta.get("namespace", "default"))}
    namespace = fill(report.namespace, values, ("service_namespace",))
    override = (meta.get("annotations") or {}).get(report.name_annotation) if report.name_annotation else None
    if override:
        ns, _, name = str(override).rpartition("/")
        return ns or namespace, name
    return namespace, fill(report.name, values, ("service", "service_namespace"))


def holder_node(report: LeaseReport, identity: str | None) -> str | None:
    """The node named by a holderIdentity, through the spec's ``holder`` pattern (``{node}`` by default)."""
    if not identity:
        return None
    before, _, after = report.holder.partition("{node}")
    match = re.fullmatch(re.escape(before) + r"(?P<node>.+?)" + re.escape(after), identity)
    return match.group("node") if match else None


def expired(lease: Mapping[str, Any], now: dt.datetime) -> bool:
    """Whether the Lease's renewTime + leaseDurationSeconds lies before ``now`` (its holder stopped renewing)."""
    spec = lease.get("spec") or {}
    renewed, duration = spec.get("renewTime"), spec.get("leaseDurationSeconds")
    if not renewed or duration is None:
        return False
    when = dt.datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", str(renewed).replace("Z", "+00:00")))
    return when + dt.timedelta(seconds=float(duration)) < now


def holders(lease: Mapping[str, Any] | None, report: LeaseReport, now: dt.datetime | None = None) -> Holders:
    """The node holding ``lease`` (None: no Lease yet, no holder). An expired Lease still names its holder (the LB
    has not moved it), said in the note."""
    if lease is None:
        return Holders((), "Lease", "no Lease")
    identity = (lease.get("spec") or {}).get("holderIdentity")
    node = holder_node(report, identity)
    name = (lease.get("metadata") or {}).get("name", "?")
    if node is None:
        return Holders((), "Lease", f"Lease {name} has no holder" if not identity else
                       f"Lease {name} holderIdentity {identity!r} does not match {report.holder!r}")
    note = f"Lease {name} expired (not renewed)" if now is not None and expired(lease, now) else ""
    return Holders((node,), "Lease", note)
