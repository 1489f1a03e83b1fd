"""The Docker lab: a labelled bridge, node containers named like kind's, and the two clients.

Every object carries the run's labels (``labels.py``) and :func:`remove_run` deletes them all,
so a failed or interrupted run leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
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
from .base import Host, Topology, vip_pool_from_top

CAPS = ["NET_ADMIN", "NET_RAW", "NET_BROADCAST"]
#: where lab subnets are taken from (one /24 per run, the first that is free)
SUBNET_SPACE = ipaddress.IPv4Network("172.28.0.0/14")
#: Docker hands out node addresses from the bottom /26 only, leaving fixed client addresses and
#: the VIP pool (top of the subnet) free
DYNAMIC_RANGE_PREFIX = 26
CLIENT_OFFSETS = {"mypc": 100, "mypc2": 200}
VIP_POOL_SIZE = 8
NODE_SYSCTLS = {"net.ipv4.ip_forward": "1"}
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
                                             mac=(net.get("MacAddress") or node.mac).lower()))
        self.topology = dataclasses.replace(topology, nodes=tuple(nodes))
        return self.topology

    def remove_host_tables(self) -> None:
        """Remove the partition table, if a fault left one (an interrupted run)."""
        if self.topology is not None:
            host_nft.delete(host_nft.table_name(self.topology.cluster, "partition"))


def create_host(client: docker.DockerClient, image: str, run_id: str, cluster: str, name: str, short: str, role: str,
                network: str, ip: str | None, extra_labels: dict[str, str] | None = None) -> Host:
    """Start a labelled container on ``network`` (at ``ip`` when given) and describe it."""
    api = client.api
    host_config = api.create_host_config(
        cap_add=CAPS, sysctls=NODE_SYSCTLS if role != "client" else None, network_mode=network, init=True,
        tmpfs=RUN_TMPFS,
    )
    endpoint = api.create_endpoint_config(ipv4_address=ip) if ip else api.create_endpoint_config()
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
    return Host(name=name, role=role, ip=settings["IPAddress"], mac=settings["MacAddress"].lower(), short=short)


class Lab(DockerNodeOps):
    """Creates and removes one lab topology."""

    def __init__(
        self,
        client: docker.DockerClient,
        image: str,
        run_id: str,
        workers: int = 3,
        progress: Callable[[str], None] = print,
    ) -> None:
        super().__init__(client)
        self.image = image
        self.run_id = run_id
        self.cluster = f"lbc-{run_id}"
        self.workers = workers
        self.progress = progress

    # -- life cycle ----------------------------------------------------------------------------
    def up(self) -> Topology:
        """Create the network, the nodes and the clients; return the topology."""
        network, subnet = self._create_network()
        gateway = str(subnet.network_address + 1)
        layout = host_layout(self.cluster, subnet, self.workers)
        self.progress(f"lbconform: lab {self.cluster}: network {network} {subnet}, {len(layout) - len(CLIENT_OFFSETS)} "
                      f"nodes, {len(CLIENT_OFFSETS)} clients")
        with ThreadPoolExecutor(max_workers=len(layout)) as pool:  # independent: created side by side
            hosts = list(pool.map(lambda h: self._create_host(h[0], h[1], h[2], network, h[3]), layout))
        nodes = [h for h in hosts if h.role != "client"]
        clients = [h for h in hosts if h.role == "client"]
        self.topology = Topology(
            cluster=self.cluster, network=network, subnet=subnet, gateway=gateway,
            nodes=tuple(nodes), clients=tuple(clients), vip_pool=vip_pool_from_top(subnet, VIP_POOL_SIZE),
        )
        return self.topology

    def down(self) -> None:
        """Remove everything this run created."""
        self.remove_host_tables()
        remove_run(self.client, self.run_id)
        self.topology = None

    # -- access --------------------------------------------------------------------------------
    # -- creation ------------------------------------------------------------------------------
    def _create_network(self) -> tuple[str, ipaddress.IPv4Network]:
        name = self.cluster
        taken = _subnets_in_use(self.client)
        for subnet in SUBNET_SPACE.subnets(new_prefix=24):
            if any(subnet.overlaps(t) for t in taken):
                continue
            dynamic = next(subnet.subnets(new_prefix=DYNAMIC_RANGE_PREFIX))
            pool = docker.types.IPAMPool(subnet=str(subnet), iprange=str(dynamic), gateway=str(subnet.network_address + 1))
            try:
                self.client.networks.create(
                    name, driver="bridge", ipam=docker.types.IPAMConfig(pool_configs=[pool]),
                    labels=labels.run_labels(self.run_id, "network"),
                )
            except docker.errors.APIError as exc:
                if "overlap" in str(exc).lower():  # taken meanwhile by another run
                    continue
                raise InfrastructureError(f"creating network {name} on {subnet}: {exc.explanation}") from exc
            return name, subnet
        raise InfrastructureError(f"no free /24 left in {SUBNET_SPACE} for the lab network")

    def _create_host(self, name: str, short: str, role: str, network: str, ip: str | None) -> Host:
        return create_host(self.client, self.image, self.run_id, self.cluster, name, short, role, network, ip)


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


def _subnets_in_use(client: docker.DockerClient) -> list[ipaddress.IPv4Network]:
    taken: list[ipaddress.IPv4Network] = []
    for net in client.networks.list():
        for cfg in (net.attrs.get("IPAM") or {}).get("Config") or []:
            try:
                taken.append(ipaddress.IPv4Network(cfg["Subnet"], strict=False))
            except (KeyError, ValueError):
                continue
    taken.extend(_host_routes())
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


