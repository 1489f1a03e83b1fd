"""VIP allocation: addresses come from the pool, are unique, honour requests, are released."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from .result import Verdict
from .text import readable


@dataclass(frozen=True)
class Allocation:
    """What the LB did with one LoadBalancer service: an address, or pending with a reason."""

    service: str
    ip: str | None
    reason: str | None = None


def _in(ip: str, first: str, last: str) -> bool:
    return int(ipaddress.IPv4Address(first)) <= int(ipaddress.IPv4Address(ip)) <= int(ipaddress.IPv4Address(last))


def from_pool(allocations: Sequence[Allocation], first: str, last: str) -> Verdict:
    figures = {"pool": f"{first}-{last}", "allocated": {a.service: a.ip for a in allocations}}
    expected = f"every service gets an address from {first}-{last}"
    pending = [a.service for a in allocations if a.ip is None]
    outside = [f"{a.service}={a.ip}" for a in allocations if a.ip and not _in(a.ip, first, last)]
    if pending or outside:
        return Verdict("vip-from-pool", False, expected,
                       f"pending {readable(pending)}, outside the pool {readable(outside)}", figures, "allocation")
    return Verdict("vip-from-pool", True, expected, ", ".join(f"{a.service}={a.ip}" for a in allocations), figures)


def distinct(allocations: Sequence[Allocation]) -> Verdict:
    ips = [a.ip for a in allocations]
    dupes = sorted({ip for ip in ips if ip and ips.count(ip) > 1})
    expected = "distinct services (no sharing key) get distinct addresses"
    figures = {"allocated": {a.service: a.ip for a in allocations}}
    if dupes or None in ips:
        return Verdict("vip-distinct", False, expected, f"shared {readable(dupes)}, pending {ips.count(None)}", figures,
                       "allocation")
    return Verdict("vip-distinct", True, expected, f"{len(ips)} services, {len(set(ips))} addresses", figures)


def honoured(allocation: Allocation, requested: str) -> Verdict:
    expected = f"{allocation.service} gets the requested {requested}"
    figures = {"requested": requested, "got": allocation.ip, "reason": allocation.reason}
    if allocation.ip != requested:
        return Verdict("vip-requested", False, expected, f"got {allocation.ip} ({allocation.reason or 'no reason given'})",
                       figures, "allocation")
    return Verdict("vip-requested", True, expected, f"got {requested}", figures)


def stays_pending(allocation: Allocation, why: str) -> Verdict:
    """A request the LB cannot satisfy (outside the pool, pool exhausted) leaves the service pending, with a reason."""
    expected = f"{allocation.service} stays pending ({why}) and the LB says why"
    figures = {"got": allocation.ip, "reason": allocation.reason}
    if allocation.ip is not None:
        return Verdict("vip-pending", False, expected, f"got {allocation.ip}", figures, "allocation")
    if not allocation.reason:
        return Verdict("vip-pending", False, expected, "pending without any reason (no event)", figures, "allocation")
    return Verdict("vip-pending", True, expected, f"pending: {allocation.reason}", figures)


def released(before: Allocation, after: Allocation) -> Verdict:
    """After deleting a service, its address can be requested by another one."""
    expected = f"{before.ip}, released by deleting {before.service}, is allocated to {after.service}"
    figures = {"released": before.ip, "reused_by": after.service, "got": after.ip, "reason": after.reason}
    if before.ip is None or after.ip != before.ip:
        return Verdict("vip-released", False, expected, f"got {after.ip} ({after.reason or 'no reason'})", figures,
                       "allocation")
    return Verdict("vip-released", True, expected, f"{after.service} got {after.ip}", figures)


def shared(first: Allocation, second: Allocation) -> Verdict:
    """Two services with one sharing key and different ports get the same address."""
    expected = f"{first.service} and {second.service} (same sharing key, different ports) share one address"
    figures = {first.service: first.ip, second.service: second.ip}
    if first.ip is None or first.ip != second.ip:
        return Verdict("vip-shared", False, expected, f"{first.ip} vs {second.ip} ({second.reason or ''})", figures,
                       "allocation")
    return Verdict("vip-shared", True, expected, f"both on {first.ip}", figures)
