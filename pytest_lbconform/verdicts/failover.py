"""Failover: the timeline around a fault, built from an availability trace, and its verdicts.

Samples are placed at their send time. The VIP outage (fault → first success from which K of the
next 2K probes succeed) and the time until *every* answer succeeds (backends on the victim node may
keep failing after the VIP moved) are different figures and are reported separately.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..probes.records import AvailabilityTrace, Sample
from .result import Verdict

STABLE_RUN = 5  #: recovered at a success from which K of the next 2K probes succeed


@dataclass(frozen=True)
class Timeline:
    """Times are absolute (``time.time()``, shared by host and containers); ``*_ms`` are relative to the fault."""

    fault: float
    last_success_before: float | None
    first_failure: float | None
    garp_from_new_owner: float | None
    owner_change: float | None  #: client's neighbour entry flipped to the new owner's MAC
    first_success_after: float | None
    stable_recovery: float | None
    all_ok_after: float | None  #: from here on every sample succeeded
    resolution: float  #: probe interval
    samples: int
    failures: int
    new_owner_mac: str | None
    garp_macs: tuple[str, ...] = ()

    def ms(self, t: float | None) -> float | None:
        return None if t is None else round((t - self.fault) * 1000, 1)

    @property
    def outage_ms(self) -> float | None:
        """VIP outage: 0 when no probe failed, None when it never recovered."""
        if self.first_failure is None:
            return 0.0
        return self.ms(self.stable_recovery)

    def figures(self) -> dict[str, object]:
        rel = {f"{name}_ms": self.ms(getattr(self, name)) for name in
               ("last_success_before", "first_failure", "garp_from_new_owner", "owner_change", "first_success_after",
                "stable_recovery", "all_ok_after")}
        return {"outage_ms": self.outage_ms, **rel, "resolution_ms": round(self.resolution * 1000, 1),
                "samples": self.samples, "failures": self.failures, "new_owner_mac": self.new_owner_mac,
                "garp_macs": list(self.garp_macs)}

def _stable_start(samples: list[Sample], start: int, k: int) -> int | None:
    """First success at or after ``start`` such that ≥ k of the 2k samples from it succeed.

    A lone lucky probe inside an outage does not count; a VIP that serves again while the victim's
    backend still fails a share of the answers does (that share is the ``all_ok_after`` figure).
    """
    for i in range(start, len(samples)):
        if samples[i].ok and sum(s.ok for s in samples[i : i + 2 * k]) >= k:
            return i
    return None


def build_timeline(trace: AvailabilityTrace, fault: float, new_owner_mac: str | None, k: int = STABLE_RUN) -> Timeline:
    """The failover timeline of ``trace`` around a fault injected at ``fault``."""
    if not trace.start <= fault <= trace.end:
        raise ValueError(f"fault time {fault:.3f} lies outside the recording [{trace.start:.3f}, {trace.end:.3f}]")
    samples = sorted(trace.samples, key=lambda s: s.t)
    before = [s for s in samples if s.t < fault]
    after_idx = next((i for i, s in enumerate(samples) if s.t >= fault), len(samples))
    last_ok = next((s.t for s in reversed(before) if s.ok), None)
    first_fail_idx = next((i for i in range(after_idx, len(samples)) if not samples[i].ok), None)
    if first_fail_idx is None:
        first_failure = None
        stable_idx: int | None = after_idx if after_idx < len(samples) else None
    else:
        first_failure = samples[first_fail_idx].t
        stable_idx = _stable_start(samples, first_fail_idx, k)
    first_ok_after = next((samples[i].t for i in range(first_fail_idx or after_idx, len(samples)) if samples[i].ok), None)
    last_fail_idx = max((i for i in range(after_idx, len(samples)) if not samples[i].ok), default=None)
    if last_fail_idx is None:
        all_ok = samples[after_idx].t if after_idx < len(samples) else None
    else:
        all_ok = samples[last_fail_idx + 1].t if last_fail_idx + 1 < len(samples) else None
    mac = new_owner_mac.lower() if new_owner_mac else None
    after_garps = [g for g in trace.garps if g.t >= fault]
    garp_t = next((g.t for g in after_garps if g.mac == mac), None)
    owner_change = next((n.t for n in trace.neighbour if n.t >= fault and n.mac == mac), None)
    return Timeline(
        fault=fault, last_success_before=last_ok, first_failure=first_failure, garp_from_new_owner=garp_t,
        owner_change=owner_change, first_success_after=first_ok_after,
        stable_recovery=samples[stable_idx].t if stable_idx is not None else None, all_ok_after=all_ok,
        resolution=trace.interval, samples=len(samples), failures=sum(not s.ok for s in samples[after_idx:]),
        new_owner_mac=mac, garp_macs=tuple(sorted({g.mac for g in after_garps})),
    )


def within_budget(timeline: Timeline, budget: float, fault_kind: str) -> Verdict:
    """The VIP serves again (K consecutive successes) within ``budget`` seconds of the fault."""
    figures = {**timeline.figures(), "budget_ms": budget * 1000, "fault": fault_kind}
    expected = f"VIP serves again within {budget * 1000:.0f} ms of {fault_kind}"
    outage = timeline.outage_ms
    if outage is None:
        return Verdict("failover-budget", False, expected,
                       f"no recovery ({STABLE_RUN} of {2 * STABLE_RUN} probes succeeding) within the recording; "
                       f"{timeline.failures} of {timeline.samples} probes failed", figures, "failover over budget")
    measured = (f"outage {outage:.0f} ms (resolution {timeline.resolution * 1000:.0f} ms); every answer ok after "
                f"{timeline.ms(timeline.all_ok_after)} ms; "
                f"GARP from new owner at {timeline.ms(timeline.garp_from_new_owner)} ms")
    if outage > budget * 1000:
        return Verdict("failover-budget", False, expected, measured, figures, "failover over budget")
    return Verdict("failover-budget", True, expected, measured, figures)


def garp_from_new_owner(timeline: Timeline, old_owner_mac: str | None) -> Verdict:
    """After the fault, gratuitous ARP for the VIP comes from the new owner (and not only from others)."""
    figures = timeline.figures()
    expected = f"gratuitous ARP from the new owner {timeline.new_owner_mac} after the fault"
    if timeline.new_owner_mac is None:
        return Verdict("garp-on-takeover", False, expected, "no new owner was found", figures, "GARP missing")
    if timeline.garp_from_new_owner is None:
        others = [m for m in timeline.garp_macs if m != timeline.new_owner_mac]
        detail = f"only from {others}" if others else "none seen"
        category = "GARP from wrong MAC" if others else "GARP missing"
        return Verdict("garp-on-takeover", False, expected, f"GARP {detail}", figures, category)
    stale = old_owner_mac is not None and old_owner_mac.lower() in timeline.garp_macs
    note = " (the old owner also announced after the fault)" if stale else ""
    return Verdict("garp-on-takeover", True, expected,
                   f"first GARP from {timeline.new_owner_mac} at {timeline.ms(timeline.garp_from_new_owner)} ms{note}",
                   figures)
