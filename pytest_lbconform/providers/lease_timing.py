"""How long a Lease-elected announcer takes to hand a VIP over, from its lease tunings.

kube-vip (services, ARP) and Cilium (L2 announcements) elect one node per service with client-go's leader
election; PureLB keeps one Lease per node and recomputes winners when a lease expires. The windows below follow
those mechanisms (``docs/providers-facts.md`` cites the upstream files):

- client-go ``tools/leaderelection`` (v0.36.3): a candidate retries every ``[R, 2.2 R)`` (``JitterFactor`` 1.2);
  the holder renews every ``R`` and stops leading when a renew round fails for ``RD``; another holder's lease is
  valid for ``int(L)`` seconds after the candidate *saw* its last renewal; a graceful stop releases the lease.
- PureLB v0.16.6 ``internal/election``: each node renews its lease every ``L / 2``; a lease is valid until
  ``renewTime + int(L)``; the others notice an expiry on the next lease event (another node's renewal, every
  ``L / 2``); a node marks itself unhealthy after 3 failed renewals.

Pure functions: a spec's budgets and the suite's waits are derived from these, and ``tests/lease_model.py``
checks the windows against a model of the mechanism.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

JITTER = 1.2  #: client-go leaderelection.JitterFactor
PURELB_UNHEALTHY_AFTER = 3  #: PureLB maxRenewFailures


@dataclass(frozen=True)
class LeaseTimings:
    """client-go leader-election timings in seconds: lease duration ``L``, renew deadline ``RD``, retry period ``R``."""

    duration: float
    renew_deadline: float
    retry: float

    def problems(self) -> list[str]:
        """What client-go's ``NewLeaderElector`` refuses, or what lets two holders overlap; empty when sound."""
        out = []
        if min(self.duration, self.renew_deadline, self.retry) <= 0:
            out.append("lease duration, renew deadline and retry period must be positive")
        if self.duration <= self.renew_deadline:
            out.append(f"lease duration {self.duration:g} s must exceed the renew deadline {self.renew_deadline:g} s")
        if self.renew_deadline <= JITTER * self.retry:
            out.append(f"renew deadline {self.renew_deadline:g} s must exceed {JITTER:g} × retry period "
                       f"{self.retry:g} s")
        if self.lease_seconds < 1:
            out.append(f"lease duration {self.duration:g} s is under 1 s: the Lease records 0 s")
        if not self.split_brain_free:
            out.append(f"retry + renew deadline ({self.retry + self.renew_deadline:g} s) must be under the lease "
                       f"duration ({self.lease_seconds} s) or a holder cut off from the API overlaps its successor")
        return out

    @property
    def lease_seconds(self) -> int:
        """``leaseDurationSeconds`` as written in the Lease: ``int(L / 1s)``, sub-second parts dropped."""
        return math.floor(self.duration)

    @property
    def split_brain_free(self) -> bool:
        """A holder cut off from the API stops leading (``R + RD`` after its last renewal) before any candidate may
        take over (``int(L)`` after it saw that renewal)."""
        return self.retry + self.renew_deadline < self.lease_seconds

    def crash_takeover(self) -> tuple[float, float]:
        """Seconds from the holder's death (no release) to a new holder: ``(int(L) − R, int(L) + 4.4 R)``.

        Its last renewal was up to ``R`` before; a candidate saw it up to ``2.2 R`` late and polls up to ``2.2 R``
        after the expiry."""
        return self.lease_seconds - self.retry, self.lease_seconds + 2 * (1 + JITTER) * self.retry

    def graceful_takeover(self) -> tuple[float, float]:
        """Seconds from a graceful stop (the lease released) to a new holder: the next candidate retry."""
        return 0.0, (1 + JITTER) * self.retry

    def holder_gives_up(self) -> float:
        """Seconds after its last renewal by which a holder that cannot reach the API has stopped leading."""
        return self.retry + self.renew_deadline


@dataclass(frozen=True)
class NodeLeaseTimings:
    """PureLB's per-node lease: duration ``L`` in seconds (renewed every ``L / 2``)."""

    duration: float

    def problems(self) -> list[str]:
        if self.duration < 2:
            return [f"lease duration {self.duration:g} s: PureLB needs at least 2 s (renewals every L / 2, whole "
                    "seconds in the Lease)"]
        return []

    @property
    def lease_seconds(self) -> int:
        return math.floor(self.duration)

    def crash_takeover(self) -> tuple[float, float]:
        """Seconds from a node's death to the winner's recomputation elsewhere: its last renewal was up to ``L / 2``
        before; the expiry at ``int(L)`` is noticed at the next lease event, within ``L / 2``."""
        return self.lease_seconds - self.duration / 2, self.lease_seconds + self.duration / 2

    def holder_gives_up(self) -> float:
        """Seconds after its last renewal by which a node cut off from the API marks itself unhealthy."""
        return PURELB_UNHEALTHY_AFTER * self.duration / 2

    @property
    def split_brain_free(self) -> bool:
        """False for every duration: three renewals (``1.5 L``) outlast the lease (``L``), so for up to ``L / 2`` a
        node cut off from the API still announces what the others have moved (PureLB's renewDeadline is unused)."""
        return self.holder_gives_up() < self.lease_seconds
