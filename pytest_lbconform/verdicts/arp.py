"""ARP ownership: exactly one MAC answers for a VIP, it is a node's, and the node the LB reports."""

from __future__ import annotations

from collections.abc import Mapping

from ..probes.records import ArpObservation
from .result import Verdict


def arp_ownership(obs: ArpObservation, node_macs: Mapping[str, str], reported_owner: str | None) -> Verdict:
    """Judge ``obs`` against the nodes' MACs (node → MAC) and the owner the LB reports.

    Fails when nobody answers, when several MACs answer (split announcement), when the answering
    MAC is not a node's, or when the answering node is not the one the LB reports.
    """
    by_mac = {mac.lower(): node for node, mac in node_macs.items()}
    macs = obs.macs
    answering = [by_mac.get(m, f"unknown {m}") for m in macs]
    figures = {"vip": obs.vip, "requests": obs.requests, "replies": len(obs.replies), "macs": list(macs),
               "answering_nodes": answering, "reported_owner": reported_owner}
    expected = f"exactly 1 MAC answers ARP for {obs.vip}, the MAC of the reported owner {reported_owner}"
    if not macs:
        return Verdict("arp-ownership", False, expected, f"no reply to {obs.requests} who-has requests", figures,
                       "no ARP owner")
    if len(macs) > 1:
        return Verdict("arp-ownership", False, expected,
                       f"{len(macs)} MACs answer: {', '.join(f'{m} ({n})' for m, n in zip(macs, answering, strict=True))}",
                       figures, "multiple ARP owners")
    mac = macs[0]
    if mac not in by_mac:
        return Verdict("arp-ownership", False, expected, f"{mac} answers, which is no node's MAC", figures,
                       "ARP owner is not a node")
    if reported_owner is None:
        return Verdict("arp-ownership", False, expected, f"{mac} ({by_mac[mac]}) answers, but the LB reports no owner",
                       figures, "owner report mismatch")
    if by_mac[mac] != reported_owner:
        return Verdict("arp-ownership", False, expected,
                       f"{mac} ({by_mac[mac]}) answers, but the LB reports {reported_owner}", figures,
                       "owner report mismatch")
    return Verdict("arp-ownership", True, expected,
                   f"1 MAC {mac} ({by_mac[mac]}) in {len(obs.replies)} replies to {obs.requests} requests", figures)
