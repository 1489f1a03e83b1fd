"""What the probes observed, as plain typed records (verdicts are pure functions of these)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ArpReply:
    t: float
    mac: str                    #: the ARP sender hardware address (what the client's neighbour entry takes)
    attempt: int = 0
    ether_src: str | None = None  #: the Ethernet source (what switches learn); None when not captured


@dataclass(frozen=True)
class ArpObservation:
    """Every reply to ``requests`` broadcast who-has for ``vip``."""

    vip: str
    replies: tuple[ArpReply, ...]
    requests: int
    pcap: bytes = b""

    @property
    def macs(self) -> tuple[str, ...]:
        return tuple(sorted({r.mac for r in self.replies}))


@dataclass(frozen=True)
class GarpFrame:
    """An ARP frame with sender IP = target IP = VIP (op 1 request, 2 reply)."""

    t: float
    op: int
    mac: str                    #: ARP sender hardware address
    ether_src: str | None = None  #: Ethernet source address of the frame


@dataclass(frozen=True)
class NeighbourEntry:
    t: float
    mac: str | None
    state: str | None = None


@dataclass(frozen=True)
class Sample:
    """One request over a fresh TCP connection."""

    t: float
    ok: bool
    backend: str | None = None
    remote: str | None = None
    latency: float | None = None
    error: str | None = None
    sport: int | None = None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Sample:
        return cls(t=raw["t"], ok=raw["ok"], backend=raw.get("backend"), remote=raw.get("remote"),
                   latency=raw.get("latency"), error=raw.get("error"), sport=raw.get("sport"))


@dataclass(frozen=True)
class Burst:
    """The samples of one ``http_burst`` and how long it took inside the client."""

    samples: tuple[Sample, ...]
    elapsed: float
    client_ip: str = ""

    @property
    def rate(self) -> float:
        """Fresh connections per second."""
        return len(self.samples) / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def counts(self) -> Counter[str]:
        return Counter(s.backend for s in self.samples if s.ok and s.backend)

    @property
    def errors(self) -> tuple[Sample, ...]:
        return tuple(s for s in self.samples if not s.ok)


@dataclass(frozen=True)
class AvailabilityTrace:
    """Service probes and the L2 channel recorded around a fault."""

    vip: str
    interval: float
    timeout: float
    start: float
    end: float
    samples: tuple[Sample, ...]
    garps: tuple[GarpFrame, ...] = ()
    neighbour: tuple[NeighbourEntry, ...] = ()
    events: dict[str, float] = field(default_factory=dict)
    garp_pcap: bytes = b""  #: the gratuitous ARP frames of ``garps`` as captured (pcap)
