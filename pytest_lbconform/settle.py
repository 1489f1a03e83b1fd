"""What a recording must have seen before a check moves on: conditions over a running availability probe.

A failover check holds its fault until the takeover has been seen *in the data plane* plus the probes the
degradation bound needs, and ends its failback window once the final owner has announced itself, the
client follows it and it has served a run of probes in a row; each wait has a budget, after which the
verdicts judge what was recorded (an over-budget or silent LB is judged, never waited for forever).

Numbers, and why:
- ``BASELINE_PROBES`` (20 = 0.2 s at 10 ms): a baseline before the fault, shown on the plot and in the
  "before" phase, so a failing data plane is told apart from a failover.
- :func:`degradation_probes` after the first answer through the new owner: the degradation bound is the
  expected failed share p + 5 points + 3σ of these n probes (``verdicts/failover.py``), so n is what makes that
  bound sharp: the 5-point tolerance spans at least 3 probes (n ≥ 60) and the sampling term 3σ = 3·√(p(1−p)/n)
  is at most 15 points (n ≥ 400·p(1−p): 89 for p = 1/3). A share 20 points above the expectation then fails,
  and a healthy LB exceeds the bound with probability < 0.2 % (one-sided 3σ). 60 probes = 0.6 s at 10 ms.
- ``FAILBACK_RUN`` (20 = 200 ms): answers through the final owner in a row after the undo; with its GARP (when
  the owner moved) and the client's neighbour entry on it, the failback has happened and been seen.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from .probes.driver import Live
from .probes.records import Sample
from .verdicts.arp import credited_times
from .verdicts.failover import FAILBACK_RUN, TOLERANCE

BASELINE_PROBES = 20
TOLERANCE_PROBES = 3      #: the degradation tolerance (5 points) spans at least this many probes
MAX_SAMPLING_TERM = 0.15  #: the degradation bound's 3σ is at most this share


def degradation_probes(expected_share: float, tolerance: float = TOLERANCE) -> int:
    """How many probes after the takeover the degradation bound needs (see the module docstring)."""
    p = min(max(expected_share, 0.0), 1.0)
    return max(math.ceil(TOLERANCE_PROBES / tolerance), math.ceil(9 * p * (1 - p) / MAX_SAMPLING_TERM ** 2))

Condition = Callable[[Live], bool]
Forwarder = Callable[[Sample], "str | None"]  #: the node that forwarded an answered probe (None: not attributable)


def baseline(probes: int = BASELINE_PROBES) -> Condition:
    """At least ``probes`` probes have finished."""
    return lambda live: len(live.samples) >= probes


def takeover_seen(via: Forwarder, new_owner: str, since: float, probes_after: int) -> Condition:
    """A probe sent at or after ``since`` was answered through ``new_owner``, and ``probes_after`` probes were sent
    from that one on (whatever their outcome: the degradation verdict counts the failed ones)."""
    def seen(live: Live) -> bool:
        first = min((s.t for s in live.samples if s.t >= since and s.ok and via(s) == new_owner), default=None)
        return first is not None and sum(s.t >= first for s in live.samples) >= probes_after
    return seen


def takeover_held(via: Forwarder, new_owner: str, new_mac: str, since: float, probes_after: int,
                  budget: float) -> Condition:
    """:func:`takeover_seen`, and the new owner's own gratuitous ARP seen — or ``budget`` s past ``since`` without it:
    garp-on-takeover judges the frames up to the undo, so the fault is held at least until the budget when none
    came (an LB announcing a moment after clients found it is judged by the same deadline every run)."""
    seen = takeover_seen(via, new_owner, since, probes_after)
    garp = announced([(new_mac, since)])
    return lambda live: seen(live) and (garp(live) or time.time() >= since + budget)


def failback_settled(via: Forwarder, final_owner: str, final_mac: str, since: float, moved: bool,
                     run: int = FAILBACK_RUN) -> Condition:
    """After ``since`` (the undo): the last ``run`` probes (by send time) were all answered through ``final_owner``,
    the client's neighbour entry names ``final_mac``, and, when the owner moved, its own gratuitous ARP was seen."""
    mac = final_mac.lower()

    def settled(live: Live) -> bool:
        if not live.neighbour or (live.neighbour[-1].mac or "").lower() != mac:
            return False
        if moved and not credited_times(live.garps, mac, since):
            return False
        recent = sorted((s for s in live.samples if s.t >= since), key=lambda s: s.t)[-run:]
        return len(recent) == run and all(s.ok and via(s) == final_owner for s in recent)
    return settled


def announced(announcers: list[tuple[str, float]]) -> Condition:
    """For each (MAC, since): a gratuitous ARP credited to that MAC was seen at or after ``since``."""
    return lambda live: all(credited_times(live.garps, mac, since) for mac, since in announcers)


def reannouncement_window(budget: float, grace: float, garp_wait: float) -> float:
    """The recording's ceiling for the gratuitous-ARP check of a move and a move back (seconds from its start): the
    baseline and the takeover (each within ``budget`` + 2 s of waiting), the agent's return and its announcement
    (``grace``, the provider's ``settings.announce_grace``: on kind a new speaker pod is scheduled, started and joins
    before it announces), and ``garp_wait`` for the frames. It ends as soon as both announcements were seen."""
    return budget + (budget + 2) + grace + garp_wait
