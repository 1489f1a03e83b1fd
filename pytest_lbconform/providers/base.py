"""What every provider exposes to the suites, whatever LB and platform are behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TrafficPolicy = Literal["Cluster", "Local"]
Affinity = Literal["None", "ClientIP"]


@dataclass(frozen=True)
class Service:
    """A LoadBalancer service under test."""

    name: str
    vip: str
    port: int
    traffic_policy: TrafficPolicy
    affinity: Affinity = "None"


@dataclass(frozen=True)
class Backend:
    """One backend (a pod on kind, a whoami server in a lab node)."""

    name: str  #: what it answers as ``Hostname:``
    node: str  #: short name of the node it runs on
    ip: str
    port: int
