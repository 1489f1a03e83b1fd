"""What every provider exposes to the suites, whatever LB and platform are behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from docker.models.containers import Container

from ..platforms.base import Host, Topology

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
    vip6: str | None = None  #: its IPv6 address, for a dual-stack service (None: IPv4 only)

    def address(self, family: int) -> str:
        """The VIP in IP ``family`` (4 or 6); a ``ValueError`` naming the service when it has none."""
        found = self.vip if family == 4 else self.vip6 if family == 6 else None
        if not found:
            raise ValueError(f"service {self.name} has no IPv{family} address")
        return found


@dataclass(frozen=True)
class Backend:
    """One backend (a pod on kind, a whoami server in a lab node)."""

    name: str  #: what it answers as ``Hostname:``
    node: str  #: short name of the node it runs on
    ip: str
    port: int
    ip6: str = ""  #: its IPv6 address ("" where it has none)

    def address(self, family: int) -> str:
        """Its address in IP ``family`` (4 or 6); a ``ValueError`` naming the backend when it has none."""
        found = self.ip if family == 4 else self.ip6 if family == 6 else ""
        if not found:
            raise ValueError(f"backend {self.name} has no IPv{family} address")
        return found


class Provider(Protocol):
    """An LB deployed on a platform, as the suites and faults drive it."""

    services: tuple[Service, ...]
    backends: tuple[Backend, ...]

    def owner(self, service: Service) -> str | None:
        """The node (short name) the LB reports as announcing ``service``; None if not exactly one."""

    def holders(self, service: Service) -> list[str]:
        """Every node the LB's own state names as announcing ``service``."""

    def wait_converged(self, budget: float = ...) -> dict[str, str]:
        """Wait until each service has one owner; service name → owner."""

    def wait_owner(self, service: Service, not_on: str, budget: float = ...) -> str:
        """Wait until one node other than ``not_on`` announces ``service``."""

    def kill_agent(self, node: Host) -> None: ...
    def crash_agent(self, node: Host) -> None:
        """SIGKILL the agent: no graceful release (what an OOM kill or a crash leaves)."""

    def start_agent(self, node: Host) -> None: ...
    def start_node(self, node: Host) -> None:
        """Bring the LB back on ``node`` after the node was stopped and started."""

    def version(self) -> str: ...
    def cleanup(self) -> None: ...


class NodeOps(Protocol):
    """What faults need from the platform."""

    def container(self, host: Host | str) -> Container: ...
    def set_link(self, host: Host, up: bool) -> None: ...
    def set_partition(self, host: Host, cut: bool) -> None: ...
    def refreshed(self, topology: Topology) -> Topology: ...


def wait_new_owner(provider: Provider, service: Service, not_on: str, budget: float) -> str | None:
    """Like ``provider.wait_owner``, but ``None`` when no other node took over within ``budget``:
    for a failover check that is a verdict, not an infrastructure error."""
    from ..errors import InfrastructureError

    try:
        return provider.wait_owner(service, not_on, budget)
    except InfrastructureError:
        return None
