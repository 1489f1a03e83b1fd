"""What every platform hands to providers and probes: nodes, clients and the L2 segment."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Host:
    """A container on the segment: a cluster node or a client."""

    name: str  #: container name (kind's naming for nodes: ``<cluster>-worker2``)
    role: str  #: ``control-plane``, ``worker`` or ``client``
    ip: str
    mac: str
    short: str = ""  #: the name users know (``worker2``, ``mypc``)
    ip6: str = ""    #: its global IPv6 address on the segment ("" where the segment has no IPv6)

    def address(self, family: int) -> str:
        """Its address in IP ``family`` (4 or 6); a ``ValueError`` naming the host when it has none."""
        found = self.ip if family == 4 else self.ip6 if family == 6 else ""
        if not found:
            raise ValueError(f"{self.name} has no IPv{family} address on the segment")
        return found


@dataclass(frozen=True)
class Topology:
    """One L2 segment with its nodes, clients and the VIP pool carved from its subnet."""

    cluster: str
    network: str
    subnet: ipaddress.IPv4Network
    gateway: str
    nodes: tuple[Host, ...]
    clients: tuple[Host, ...]
    vip_pool: tuple[str, ...] = field(default=())
    subnet6: ipaddress.IPv6Network | None = None  #: the segment's IPv6 prefix (None: IPv4 only)
    vip_pool6: tuple[str, ...] = field(default=())  #: IPv6 VIPs, carved from ``subnet6``

    @property
    def workers(self) -> tuple[Host, ...]:
        return tuple(n for n in self.nodes if n.role == "worker")

    def node(self, name: str) -> Host:
        """The node by container name or short name."""
        for node in self.nodes:
            if name in (node.name, node.short):
                return node
        raise KeyError(f"no node {name!r} in cluster {self.cluster} (nodes: {[n.short for n in self.nodes]})")

    def client(self, short: str) -> Host:
        for client in self.clients:
            if short in (client.name, client.short):
                return client
        raise KeyError(f"no client {short!r} (clients: {[c.short for c in self.clients]})")

    @property
    def node_addresses(self) -> frozenset[str]:
        """Every address of every node on the segment, IPv4 and IPv6."""
        return frozenset(a for n in self.nodes for a in (n.ip, n.ip6) if a)


def vip_pool_from_top(subnet: ipaddress.IPv4Network, size: int) -> tuple[str, ...]:
    """``size`` addresses just below the broadcast address minus a margin of 4 (as 172.18.255.200-250).

    The kind notes take 172.18.255.200-250 from 172.18.0.0/16: the top of the subnet, far from
    the addresses Docker hands out from the bottom.
    """
    top = int(subnet.broadcast_address) - 5
    first = top - size + 1
    if first <= int(subnet.network_address) + 1:
        raise ValueError(f"subnet {subnet} is too small for a pool of {size}")
    return tuple(str(ipaddress.IPv4Address(i)) for i in range(first, top + 1))


def vip_pool6_from_top(subnet: ipaddress.IPv6Network, size: int) -> tuple[str, ...]:
    """``size`` IPv6 VIPs at ``<prefix>::ffff:ff00`` and up: far from the low host ids Docker hands out and from the
    fixed client and node ids (``::2`` …, ``::100``, ``::200``)."""
    if subnet.prefixlen > 96:  # the pool starts 0xffffff00 into the subnet: 32 bits of host id
        raise ValueError(f"IPv6 subnet {subnet} is too small for a VIP pool (a /96 or larger is needed)")
    first = int(subnet.network_address) + 0xFFFFFF00
    return tuple(str(ipaddress.IPv6Address(first + i)) for i in range(size))
