"""ARP ownership: exactly one MAC answers for a VIP, it is a node's, and the node the LB reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..platforms.base import Host
from ..probes.records import ArpObservation, GarpFrame
from .result import Verdict
from .text import readable


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
    expected = (f"exactly 1 MAC answers ARP for {obs.vip}, the MAC of the reported owner {reported_owner}, "
                "as Ethernet source and ARP sender")
    if not macs:
        return Verdict("arp-ownership", False, expected, f"no reply to {obs.requests} who-has requests", figures,
                       "no ARP owner")
    if len(macs) > 1:
        return Verdict("arp-ownership", False, expected,
                       f"{len(macs)} MACs answer: {', '.join(f'{m} ({n})' for m, n in zip(macs, answering, strict=True))}",
                       figures, "multiple ARP owners")
    mac = macs[0]
    spoofed = sorted({f"{r.ether_src} carries ARP sender {r.mac}" for r in obs.replies
                      if r.ether_src is not None and r.ether_src.lower() != r.mac})
    figures["ether_sources"] = sorted({r.ether_src for r in obs.replies if r.ether_src is not None})
    if spoofed:
        return Verdict("arp-ownership", False, expected, f"Ethernet source ≠ ARP sender: {'; '.join(spoofed)}",
                       figures, "ARP source mismatch")
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


def garp_after(frames: Sequence[GarpFrame], announcers: Sequence[tuple[Host, float]], vip: str) -> Verdict:
    """Each (node, since) in ``announcers`` sent gratuitous ARP for ``vip`` from its MAC after ``since``."""
    spoofed = sorted({f"{f.ether_src} carries ARP sender {f.mac}" for f in frames
                      if f.ether_src is not None and f.ether_src.lower() != f.mac.lower()})
    seen = {(f.mac, f.t) for f in frames}
    figures: dict[str, object] = {"vip": vip, "frames": len(frames), "announcers": [n.short for n, _ in announcers]}
    expected = "gratuitous ARP from " + ", then ".join(f"{n.short} ({n.mac})" for n, _ in announcers)
    parts, missing = [], []
    for node, since in announcers:
        times = sorted(t for mac, t in seen if mac == node.mac.lower() and t >= since)
        first_ms = round((times[0] - since) * 1000, 1) if times else None
        figures[f"{node.short}_first_garp_ms"] = first_ms
        if times:
            parts.append(f"{node.short}: {len(times)} frames, first {first_ms} ms after it took over")
        else:
            missing.append(node.short)
    if spoofed:
        return Verdict("garp-on-announcement", False, expected, f"Ethernet source ≠ ARP sender: {'; '.join(spoofed)}",
                       figures, "ARP source mismatch")
    if missing:
        return Verdict("garp-on-announcement", False, expected,
                       f"no gratuitous ARP from {', '.join(missing)} ({len(frames)} frames seen: "
                       f"{readable(sorted({f.mac for f in frames}))})", figures, "GARP missing")
    return Verdict("garp-on-announcement", True, expected, "; ".join(parts), figures)


def no_takeover(check: str, vip: str, old_owner: str) -> Verdict:
    """The verdict when no other node took ``vip`` over from ``old_owner`` at all."""
    return Verdict(check, False, f"another node announces {vip} after {old_owner} stops",
                   f"no other node took {vip} over", {"vip": vip, "old_owner": old_owner}, "GARP missing")


def owners_as_intended(reported: Mapping[str, str | None], on_wire: Mapping[str, str | None],
                       intended: Mapping[str, str]) -> Verdict:
    """Each service's VIP is announced by the node the provider intends for it (service → node), as
    the LB reports it and as the single ARP responder on the wire shows it."""
    figures = {"intended": dict(intended), "reported": dict(reported), "on_wire": dict(on_wire),
               "distinct_intended_nodes": len(set(intended.values()))}
    expected = "owners as the provider intends: " + ", ".join(f"{s}→{n}" for s, n in sorted(intended.items()))
    if not intended:
        return Verdict("owner-spread", False, expected, "the provider states no intended owner", figures,
                       "owners not as intended")
    wrong = {s: (reported.get(s), on_wire.get(s)) for s, node in intended.items()
             if reported.get(s) != node or on_wire.get(s) != node}
    if wrong:
        detail = ", ".join(f"{s}: intended {intended[s]}, reported {r}, on the wire {w}"
                           for s, (r, w) in sorted(wrong.items()))
        return Verdict("owner-spread", False, expected, detail, figures, "owners not as intended")
    return Verdict("owner-spread", True, expected,
                   f"reported and on the wire as intended, over {len(set(intended.values()))} nodes", figures)
