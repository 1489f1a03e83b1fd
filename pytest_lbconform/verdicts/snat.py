"""SNAT: what source address the backend saw, against the client's and the nodes' addresses."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from typing import Literal

from ..probes.records import Sample
from .connections import answered_text, judge_failures
from .result import Verdict
from .text import readable

Seen = Literal["client", "node", "other", "missing"]


def classify(remote: str | None, client_ip: str, node_addresses: Collection[str]) -> Seen:
    """Client IP preserved / SNAT to a node address / SNAT to something else."""
    if not remote:
        return "missing"
    if remote == client_ip:
        return "client"
    return "node" if remote in node_addresses else "other"


def _summary(samples: Sequence[Sample], client_ip: str, node_addresses: Collection[str]) -> dict[str, object]:
    ok = [s for s in samples if s.ok]
    kinds = Counter(classify(s.remote, client_ip, node_addresses) for s in ok)
    return {"samples": len(samples), "ok": len(ok), "seen": dict(kinds), "sources": dict(Counter(s.remote for s in ok)),
            "client_ip": client_ip, "node_addresses": sorted(node_addresses)}


def cluster_snat(samples: Sequence[Sample], client_ip: str, node_addresses: Collection[str]) -> Verdict:
    """externalTrafficPolicy Cluster: every connection answered (within the error bound), and the
    source seen is never the client and always a node address."""
    expected = f"source seen by the backend ≠ client {client_ip} and ∈ node addresses"
    failures, failed = judge_failures("snat-cluster", samples, expected)
    figures = {**failures, **_summary(samples, client_ip, node_addresses)}
    if failed is not None:
        return Verdict("snat-cluster", False, expected, failed.measured, figures, failed.category)
    seen: dict[str, int] = figures["seen"]
    bad = {k: v for k, v in seen.items() if k != "node"}
    if bad:
        kinds = ", ".join(f"{n} {k}" for k, n in bad.items())
        return Verdict("snat-cluster", False, expected,
                       f"sources {readable(figures['sources'])} ({kinds}: not a node address)", figures, "SNAT mismatch")
    return Verdict("snat-cluster", True, expected, f"sources {readable(figures['sources'])}; {answered_text(figures)}",
                   figures)


def local_preserves_client(samples: Sequence[Sample], client_ip: str, node_addresses: Collection[str],
                           owner_backends: Collection[str]) -> Verdict:
    """externalTrafficPolicy Local: every connection answered (within the error bound), the source is
    the client and every answer comes from the announcer's backends."""
    expected = (f"source = client {client_ip}; answers only from the announcing node's backends "
                f"{readable(sorted(owner_backends))}")
    failures, failed = judge_failures("snat-local", samples, expected)
    figures = {**failures, **_summary(samples, client_ip, node_addresses)}
    ok = [s for s in samples if s.ok]
    backends = Counter(s.backend for s in ok)
    figures["backends"] = dict(backends)
    figures["owner_backends"] = sorted(owner_backends)
    if failed is not None:
        return Verdict("snat-local", False, expected, failed.measured, figures, failed.category)
    if not owner_backends:
        return Verdict("snat-local", False, expected, "the announcing node has no local backend", figures, "SNAT mismatch")
    if any(s.remote != client_ip for s in ok):
        return Verdict("snat-local", False, expected, f"client address lost (sources {readable(figures['sources'])})",
                       figures, "SNAT mismatch")
    foreign = {b: c for b, c in backends.items() if b not in owner_backends}
    if foreign:
        return Verdict("snat-local", False, expected, f"answers from other nodes' backends {readable(foreign)}", figures,
                       "SNAT mismatch")
    return Verdict("snat-local", True, expected,
                   f"from {readable(dict(backends))}, source {client_ip} kept; {answered_text(figures)}", figures)
