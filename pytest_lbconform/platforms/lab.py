"""The Docker lab: a labelled bridge, node containers named like kind's, and the two clients.

Every object carries the run's labels (``labels.py``) and :func:`remove_run` deletes them all,
so a failed or interrupted run leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container

from .. import hostcmd, labels
from ..errors import InfrastructureError
from ..reaper import remove_run
from . import containers, host_nft
from .base import Host, Topology, vip_pool6_from_top, vip_pool_from_top

CAPS = ["NET_ADMIN", "NET_RAW", "NET_BROADCAST"]
#: where lab subnets are taken from (one /24 per run, the first that is free)
SUBNET_SPACE = ipaddress.IPv4Network("172.28.0.0/14")
#: Docker hands out node addresses from the bottom /26 only, leaving fixed client addresses and
#: the VIP pool (top of the subnet) free
DYNAMIC_RANGE_PREFIX = 26
CLIENT_OFFSETS = {"mypc": 100, "mypc2": 200}
VIP_POOL_SIZE = 8
NODE_SYSCTLS = {"net.ipv4.ip_forward": "1"}
#: with IPv6: nodes forward (DNAT to other nodes' backends) and may proxy NDP (only the proxy-ndp mutant adds entries;
#: the kernel answers a proxied Neighbor Solicitation only where forwarding and proxy_ndp are on, RFC 4861 §7.2.8)
NODE_SYSCTLS_V6 = {"net.ipv6.conf.all.forwarding": "1", "net.ipv6.conf.all.proxy_ndp": "1"}
#: RFC 4193 unique local addresses: fd00::/8, a 40-bit global id, a 16-bit subnet id, then a /64 per run
ULA = ipaddress.IPv6Network("fd00::/8")
#: ``/run`` per boot, as kind runs its nodes (``--tmpfs /run``, kind: pkg/cluster/internal/providers/docker/
#: provision.go): pid files and logs of a node's earlier life cannot outlive a ``docker kill`` + start
RUN_TMPFS = {"/run": ""}


class DockerNodeOps:
    """Node access shared by the platforms whose nodes are Docker containers (lab, kind)."""

    def __init__(self, client: docker.DockerClient, topology: Topology | None = None) -> None:
        self.client = client
        self.topology = topology

    def container(self, host: Host | str) -> Container:
        return self.client.containers.get(host.name if isinstance(host, Host) else host)

    def host_veth(self, host: Host) -> str:
        """The host-side veth of ``host``'s eth0 (its ``iflink`` is the peer's ifindex), named by the kernel
        (``if_indextoname``): no walk over ``/sys/class/net``, whose entries of veths that a concurrent run is
        removing can fail to read (``[Errno 22] Invalid argument`` ended an undo that way)."""
        res = containers.run(self.container(host), ["cat", "/sys/class/net/eth0/iflink"])
        raw = res.stdout.strip()
        if not raw.isdigit():
            raise InfrastructureError(f"{host.name}: /sys/class/net/eth0/iflink reads {raw!r}, not an interface index")
        try:
            return socket.if_indextoname(int(raw))
        except OSError as exc:
            raise InfrastructureError(f"no host interface has ifindex {raw} (peer of {host.name} eth0): {exc}") from exc

    def set_link(self, host: Host, up: bool) -> None:
        """Pull or plug ``host``'s cable: its host-side veth down or up (names, routes kept)."""
        veth = self.host_veth(host)
        state = "up" if up else "down"
        hostcmd.run(["ip", "link", "set", "dev", veth, state], f"ip link set {veth} {state} on the host")

    def set_partition(self, host: Host, cut: bool) -> None:
        """Cut ``host`` off from every other node (on kind: the control plane, so the API server, too) and
        them from it, while clients still reach every node: a bridge-family table on the host drops the
        frames between their host-side veths. ``cut=False`` removes the table."""
        if self.topology is None:
            raise InfrastructureError("peer-partition needs the topology of the nodes; none is known yet")
        table = host_nft.table_name(self.topology.cluster, "partition")
        if not cut:
            host_nft.delete(table)
            return
        peers = [self.host_veth(n) for n in self.topology.nodes if n.name != host.name]
        host_nft.load(host_nft.render_partition(table, self.host_veth(host), peers))

    def refreshed(self, topology: Topology) -> Topology:
        """``topology`` with every node's address and MAC read again from the engine: a container started
        again after ``docker kill`` may come back with another MAC (and, without a fixed address, another
        address), and verdicts must know the node by what it uses now."""
        nodes = []
        for node in topology.nodes:
            net = self.container(node).attrs["NetworkSettings"]["Networks"].get(topology.network) or {}
            nodes.append(dataclasses.replace(node, ip=net.get("IPAddress") or node.ip,
                                             mac=(net.get("MacAddress") or node.mac).lower(),
                                             ip6=net.get("GlobalIPv6Address") or node.ip6))
        self.topology = dataclasses.replace(topology, nodes=tuple(nodes))
        return self.topology

    def remove_host_tables(self) -> None:
        """Remove the partition table, if a fault left one (an interrupted run)."""
        if self.topology is not None:
            host_nft.delete(host_nft.table_name(self.topology.cluster, "partition"))


def create_host(client: docker.DockerClient, image: str, run_id: str, cluster: str, name: str, short: str, role: str,
                network: str, ip: str | None, extra_labels: dict[str, str] | None = None, ip6: str | None = None) -> Host:
    """Start a labelled container on ``network`` (at ``ip``, and ``ip6`` on a dual-stack network, when given) and
    describe it."""
    api = client.api
    sysctls = None if role == "client" else {**NODE_SYSCTLS, **(NODE_SYSCTLS_V6 if ip6 else {})}
    host_config = api.create_host_config(
        cap_add=CAPS, sysctls=sysctls, network_mode=network, init=True, tmpfs=RUN_TMPFS,
    )
    endpoint = api.create_endpoint_config(ipv4_address=ip, ipv6_address=ip6)  # None: Docker picks
    try:
        created = api.create_container(
            image, command=["sleep", "infinity"], name=name, hostname=short,
            labels={**labels.run_labels(run_id, role), f"{labels.PREFIX}.cluster": cluster, **(extra_labels or {})},
            host_config=host_config,
            networking_config=api.create_networking_config({network: endpoint}),  # type: ignore[arg-type]
        )
        api.start(created["Id"])
    except docker.errors.APIError as exc:
        raise InfrastructureError(f"creating container {name}: {exc.explanation}") from exc
    container = client.containers.get(created["Id"])
    settings = container.attrs["NetworkSettings"]["Networks"][network]
    return Host(name=name, role=role, ip=settings["IPAddress"], mac=settings["MacAddress"].lower(), short=short,
                ip6=settings.get("GlobalIPv6Address") or "")


class Lab(DockerNodeOps):
    """Creates and removes one lab topology."""

    def __init__(
        self,
        client: docker.DockerClient,
        image: str,
        run_id: str,
        workers: int = 3,
        progress: Callable[[str], None] = print,
        ipv6: bool = False,
    ) -> None:
        super().__init__(client)
        self.ipv6 = ipv6  #: dual-stack: the network gets an IPv6 ULA /64 of its own beside its IPv4 /24
        self.image = image
        self.run_id = run_id
        self.cluster = f"lbc-{run_id}"
        self.workers = workers
        self.progress = progress

    # -- life cycle ----------------------------------------------------------------------------
    def up(self) -> Topology:
        """Create the network, the nodes and the clients; return the topology."""
        network, subnet, subnet6 = self._create_network()
        gateway = str(subnet.network_address + 1)
        layout = host_layout(self.cluster, subnet, self.workers)
        self.progress(f"lbconform: lab {self.cluster}: network {network} {subnet}"
                      f"{f' + {subnet6}' if subnet6 else ''}, {len(layout) - len(CLIENT_OFFSETS)} nodes, "
                      f"{len(CLIENT_OFFSETS)} clients")
        with ThreadPoolExecutor(max_workers=len(layout)) as pool:  # independent: created side by side
            hosts = list(pool.map(lambda h: self._create_host(
                h[0], h[1], h[2], network, h[3], v6_address(subnet6, subnet, h[3]) if subnet6 else None), layout))
        nodes = [h for h in hosts if h.role != "client"]
        clients = [h for h in hosts if h.role == "client"]
        self.topology = Topology(
            cluster=self.cluster, network=network, subnet=subnet, gateway=gateway,
            nodes=tuple(nodes), clients=tuple(clients), vip_pool=vip_pool_from_top(subnet, VIP_POOL_SIZE),
            subnet6=subnet6, vip_pool6=vip_pool6_from_top(subnet6, VIP_POOL_SIZE) if subnet6 else (),
        )
        return self.topology

    def down(self) -> None:
        """Remove everything this run created."""
        self.remove_host_tables()
        remove_run(self.client, self.run_id)
        self.topology = None

    # -- access --------------------------------------------------------------------------------
    # -- creation ------------------------------------------------------------------------------
    def _create_network(self) -> tuple[str, ipaddress.IPv4Network, ipaddress.IPv6Network | None]:
        name = self.cluster
        taken = _subnets_in_use(self.client)
        subnet6 = free_ula(self.run_id, _subnets6_in_use(self.client)) if self.ipv6 else None
        for subnet in SUBNET_SPACE.subnets(new_prefix=24):
            if any(subnet.overlaps(t) for t in taken):
                continue
            dynamic = next(subnet.subnets(new_prefix=DYNAMIC_RANGE_PREFIX))
            pools = [docker.types.IPAMPool(subnet=str(subnet), iprange=str(dynamic),
                                           gateway=str(subnet.network_address + 1))]
            if subnet6 is not None:
                pools.append(docker.types.IPAMPool(subnet=str(subnet6), gateway=str(subnet6.network_address + 1)))
            try:
                self.client.networks.create(
                    name, driver="bridge", ipam=docker.types.IPAMConfig(pool_configs=pools),
                    labels=labels.run_labels(self.run_id, "network"), enable_ipv6=subnet6 is not None,
                )
            except docker.errors.APIError as exc:
                if "overlap" in str(exc).lower():  # taken meanwhile by another run
                    continue
                hint = f" (IPv6 {subnet6} asked for: --address-families=4 runs IPv4 only)" if subnet6 else ""
                raise InfrastructureError(f"creating network {name} on {subnet}: {exc.explanation}{hint}") from exc
            return name, subnet, subnet6
        raise InfrastructureError(f"no free /24 left in {SUBNET_SPACE} for the lab network")

    def _create_host(self, name: str, short: str, role: str, network: str, ip: str | None, ip6: str | None) -> Host:
        return create_host(self.client, self.image, self.run_id, self.cluster, name, short, role, network, ip, ip6=ip6)


def ula_for(run_id: str, subnet_id: int = 0) -> ipaddress.IPv6Network:
    """The run's unique local /64 (RFC 4193 §3.2): ``fd`` + a 40-bit global id from a hash of the run id + a 16-bit
    subnet id. Two runs get the same prefix only if their run ids hash alike in 40 bits (and :func:`free_ula` steps
    past a prefix another network already uses)."""
    global_id = int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:5], "big")
    prefix = (0xFD << 120) | (global_id << 80) | ((subnet_id & 0xFFFF) << 64)
    return ipaddress.IPv6Network((prefix, 64))


def free_ula(run_id: str, taken: list[ipaddress.IPv6Network]) -> ipaddress.IPv6Network:
    """The first of the run's /64s (subnet ids 0, 1, …) that overlaps no network in ``taken``."""
    for subnet_id in range(0x10000):
        candidate = ula_for(run_id, subnet_id)
        if not any(candidate.overlaps(t) for t in taken):
            return candidate
    raise InfrastructureError(f"every /64 of the run's ULA /48 {ula_for(run_id).supernet(new_prefix=48)} is in use")


def v6_address(subnet6: ipaddress.IPv6Network, subnet: ipaddress.IPv4Network, ip: str) -> str:
    """A host's fixed IPv6 address, read like its IPv4 one: ``.100`` → ``<prefix>::100``, ``.2`` → ``<prefix>::2``."""
    host_id = int(ipaddress.IPv4Address(ip)) - int(subnet.network_address)
    return str(subnet6.network_address + int(str(host_id), 16))


def host_layout(cluster: str, subnet: ipaddress.IPv4Network, workers: int = 3) -> list[tuple[str, str, str, str]]:
    """(container name, short name, role, address) of every node, then of the clients: what :meth:`Lab.up` creates.

    Fixed addresses (.2, .3, …) so that a node stopped and started again keeps its address, as a kind node does."""
    names = [("control-plane", "control-plane")] + [
        ("worker", "worker" if i == 1 else f"worker{i}") for i in range(1, workers + 1)]
    nodes = [(f"{cluster}-{short}", short, role, str(subnet.network_address + 2 + i))
             for i, (role, short) in enumerate(names)]
    clients = [(f"{cluster}-{short}", short, "client", str(subnet.network_address + off))
               for short, off in CLIENT_OFFSETS.items()]
    return nodes + clients


def _docker_subnets(client: docker.DockerClient) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Every subnet a Docker network of this engine has, in both families."""
    found: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for net in client.networks.list():
        for cfg in (net.attrs.get("IPAM") or {}).get("Config") or []:
            try:
                found.append(ipaddress.ip_network(cfg["Subnet"], strict=False))
            except (KeyError, ValueError):
                continue
    return found


def _subnets_in_use(client: docker.DockerClient) -> list[ipaddress.IPv4Network]:
    taken = [n for n in _docker_subnets(client) if isinstance(n, ipaddress.IPv4Network)]
    taken.extend(_host_routes())
    return taken


def _subnets6_in_use(client: docker.DockerClient) -> list[ipaddress.IPv6Network]:
    """Every IPv6 subnet a Docker network of this engine has, and the host's own IPv6 routes."""
    taken = [n for n in _docker_subnets(client) if isinstance(n, ipaddress.IPv6Network)]
    try:
        lines = Path("/proc/net/ipv6_route").read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        fields = line.split()
        if len(fields) > 1 and int(fields[1], 16) > 0:
            taken.append(ipaddress.IPv6Network((int(fields[0], 16), int(fields[1], 16)), strict=False))
    return taken


def _host_routes() -> Iterator[ipaddress.IPv4Network]:
    """Networks the host already routes (from /proc/net/route), so the lab never shadows one."""
    try:
        lines = Path("/proc/net/route").read_text().splitlines()[1:]
    except OSError:
        return
    for line in lines:
        fields = line.split()
        dest, mask = int(fields[1], 16), int(fields[7], 16)
        if mask == 0:
            continue
        addr = ipaddress.IPv4Address(dest.to_bytes(4, "little"))
        prefix = bin(mask).count("1")
        yield ipaddress.IPv4Network(f"{addr}/{prefix}", strict=False)


