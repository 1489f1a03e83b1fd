"""ARP ownership: exactly one MAC answers for a VIP, it is a node's, and the node the LB reports."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ..platforms.base import Host
from ..probes.records import ArpObservation, GarpFrame
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


def garp_credited(frame: GarpFrame, mac: str | None) -> bool:
    """Whether ``frame`` counts as gratuitous ARP sent by the node whose MAC is ``mac``: its ARP sender *and*
    its Ethernet source are that MAC. A frame that only claims the MAC as ARP sender came from elsewhere on
    the segment (switches learn the Ethernet source), so the node itself never announced with it."""
    if not mac:
        return False
    mac = mac.lower()
    return frame.mac.lower() == mac and (frame.ether_src or "").lower() == mac


def credited_times(frames: Sequence[GarpFrame], mac: str | None, since: float = -math.inf,
                   until: float = math.inf) -> list[float]:
    """When frames credited to ``mac`` (:func:`garp_credited`) were seen in [since, until], in time order: the one
    place every GARP verdict and wait asks it."""
    return sorted(f.t for f in frames if since <= f.t <= until and garp_credited(f, mac))


def garp_claims(frames: Sequence[GarpFrame], node_macs: Mapping[str, str]) -> tuple[str, ...]:
    """Frames that claim a node's MAC as ARP sender but came from another Ethernet source (or one not captured),
    counted per (claimed node, actual source): what a GARP verdict names instead of crediting them."""
    by_mac = {mac.lower(): node for node, mac in node_macs.items()}
    counts = Counter((f.mac.lower(), (f.ether_src or "").lower()) for f in frames
                     if f.mac.lower() in by_mac and not garp_credited(f, f.mac))
    return tuple(f"{n} frame{'s' if n > 1 else ''} with ARP sender {mac} ({by_mac[mac]}) from Ethernet source "
                 f"{src or 'not captured'}" for (mac, src), n in sorted(counts.items()))


#: a frame's ``op`` as the report names it: ARP operations, and ICMPv6 type 136 (an unsolicited NA)
FRAME_OPS = {1: "request", 2: "reply", 136: "unsolicited NA"}


def garp_rows(frames: Sequence[GarpFrame], node_macs: Mapping[str, str], t0: float) -> list[dict[str, Any]]:
    """Every gratuitous ARP frame for the report, in time order: time after ``t0`` (ms), operation, ARP sender,
    Ethernet source, the node it is credited to (None: not credited) and why."""
    by_mac = {mac.lower(): node for node, mac in node_macs.items()}
    rows = []
    for f in sorted(frames, key=lambda f: f.t):
        sender, source = f.mac.lower(), (f.ether_src or "").lower() or None
        node = by_mac.get(sender)
        ok = node is not None and garp_credited(f, sender)
        why = ("ARP sender and Ethernet source are the node's MAC" if ok else
               "the ARP sender is no node's MAC" if node is None else
               "the Ethernet source was not captured" if source is None else
               f"claims {node}'s MAC from another Ethernet source")
        rows.append({"t_ms": round((f.t - t0) * 1000, 1), "op": FRAME_OPS.get(f.op, str(f.op)),
                     "arp_sender_mac": sender, "ether_src": source, "node": node if ok else None, "credited": ok,
                     "why": why})
    return rows


def garp_after(frames: Sequence[GarpFrame], announcers: Sequence[tuple[Host, float] | tuple[Host, float, float]],
               vip: str, node_macs: Mapping[str, str] | None = None) -> Verdict:
    """Each (node, since) in ``announcers`` sent gratuitous ARP for ``vip`` after ``since``: a frame whose ARP
    sender and Ethernet source are both its MAC (:func:`garp_credited`). Frames that claim a node's MAC from
    another source are named, never credited; with every announcer heard, such frames still fail the check
    (what a switch learns from them points at the wrong port). ``node_macs``: every node's MAC (default: the
    announcers'), so that a frame claiming any node's MAC is named."""
    claims = garp_claims(frames, node_macs if node_macs is not None else {a[0].short: a[0].mac for a in announcers})
    figures: dict[str, object] = {"vip": vip, "frames": len(frames), "announcers": [a[0].short for a in announcers],
                                  "uncredited_frames": sum(not garp_credited(f, f.mac) for f in frames)}
    expected = ("gratuitous ARP from " + ", then ".join(f"{a[0].short} ({a[0].mac})" for a in announcers) +
                ", each with its own MAC as ARP sender and Ethernet source")
    parts, missing = [], []
    for node, since, *until in announcers:  # (node, since[, until]): a move's frames end where the next begins
        times = credited_times(frames, node.mac, since, until[0] if until else math.inf)
        first_ms = round((times[0] - since) * 1000, 1) if times else None
        figures[f"{node.short}_first_garp_ms"] = first_ms
        if times:
            parts.append(f"{node.short}: {len(times)} frames, first {first_ms} ms after it took over")
        else:
            missing.append(node.short)
    named = f"; not credited: {'; '.join(claims)}" if claims else ""
    if missing:
        senders = ", ".join(sorted({f.mac.lower() for f in frames})) or "none"
        return Verdict("garp-on-announcement", False, expected,
                       f"no gratuitous ARP from {', '.join(missing)} ({len(frames)} frames seen, ARP senders: "
                       f"{senders}){named}", figures, "GARP missing")
    if claims:
        return Verdict("garp-on-announcement", False, expected, f"{'; '.join(parts)}{named}", figures,
                       "ARP source mismatch")
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


def reannouncement(frames: Sequence[GarpFrame], first: Host, moved: Host | None, back: Host, *, fault_at: float,
                   undo_at: float, recorded_until: float, grace: float, vip: str,
                   node_macs: Mapping[str, str]) -> tuple[Verdict, str | None]:
    """Judge gratuitous ARP when the announcement moves away from ``first`` (its agent stopped) and back to ``back``
    (the LB's owner once it settled after the undo): the verdict, and the reason the check is inconclusive when a
    move was not seen (None when both were judged).

    - No takeover: a failure ("GARP missing"), nothing moved.
    - The owner after the undo is the node that took over: the move back did not happen, so its gratuitous ARP
      cannot be judged. The verdict judges the first move only, and the check is inconclusive, never a pass on half.
    - The returning owner sent nothing, and the recording ended before ``grace`` s after the undo began (the
      provider's budget for its agent to come back and announce): inconclusive, the recording did not cover the move.
      Only a recording that covered the whole grace can fail the LB for it ("GARP missing")."""
    if moved is None:
        return no_takeover("garp-on-announcement", vip, first.short), None
    if back.short == moved.short:
        verdict = garp_after(frames, [(moved, fault_at)], vip, node_macs)
        return verdict, (f"the announcement did not move back: after the undo the LB's owner of {vip} is {back.short}, "
                         f"the node that took over from {first.short}, so the move back and its gratuitous ARP were "
                         "not seen (the first move is judged)")
    verdict = garp_after(frames, [(moved, fault_at, undo_at), (back, undo_at)], vip, node_macs)
    heard_back = bool(credited_times(frames, back.mac, undo_at))
    covered = recorded_until - undo_at
    if not heard_back and round(covered, 3) < grace:
        first_move = garp_after(frames, [(moved, fault_at, undo_at)], vip, node_macs)
        return first_move, (f"the move back to {back.short} was not seen: the recording ended {covered:.1f} s after the "
                            f"undo began, before the {grace:g} s the provider allows its agent to come back and "
                            "announce (settings.announce_grace)")
    return verdict, None


def families_on_one_node(service: str, reported: tuple[str | None, str | None],
                         seen: tuple[ArpObservation, ArpObservation], node_macs: Mapping[str, str]) -> Verdict:
    """A dual-stack service's IPv4 and IPv6 VIPs are announced by one node: the LB reports one node for both
    (``reported``: IPv4, IPv6) and the single ARP responder and the single NDP responder on the wire (``seen``) are
    that node's MAC. Several responders or none in a family are ``ndp-ownership``'s and ``arp-ownership``'s to judge;
    here they leave no single node on the wire, which is said."""
    by_mac = {mac.lower(): node for node, mac in node_macs.items()}
    wire = tuple(by_mac.get(o.macs[0], f"unknown {o.macs[0]}") if len(o.macs) == 1 else None for o in seen)
    figures = {"service": service, "vip": seen[0].vip, "vip6": seen[1].vip, "reported_v4": reported[0],
               "reported_v6": reported[1], "on_wire_v4": wire[0], "on_wire_v6": wire[1]}
    expected = f"{service}: {seen[0].vip} and {seen[1].vip} reported and answered by one node"
    measured = (f"IPv4 {seen[0].vip}: reported {reported[0]}, on the wire {wire[0] or 'no single responder'}; "
                f"IPv6 {seen[1].vip}: reported {reported[1]}, on the wire {wire[1] or 'no single responder'}")
    nodes = {reported[0], reported[1], wire[0], wire[1]}
    if len(nodes) != 1 or None in nodes:
        return Verdict("dual-stack-one-owner", False, expected, measured, figures, "families split")
    return Verdict("dual-stack-one-owner", True, expected, measured, figures)
