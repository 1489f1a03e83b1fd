"""The reference LB in the lab: keepalived VRRPv3 owns each VIP, nftables is the data plane.

What it promises (and the suites check):
- one node at a time holds each VIP on ``eth0`` (so exactly one MAC answers ARP) and sends
  gratuitous ARP when it takes the VIP over (keepalived: 5 at once, 5 more 5 s later);
- the announcing node DNATs new connections to the backends: ``random`` = ``numgen random``
  (≈ kube-proxy iptables), ``rr`` = ``numgen inc`` (≈ IPVS rr), affinity = ``jhash ip saddr``;
- ``Cluster``: the backend sees a node address (masquerade when forwarded to another node, and
  ``snat`` to the node's own address in the nat input hook when the backend is local, as a pod
  behind kube-proxy sees its node); ``Local``: only the announcing node's own backend, client IP kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import docker
from docker.models.containers import Container

from .. import implementations
from ..platforms import containers, host_nft
from ..platforms.base import Host, Topology
from ..probes import whoami
from ..scenarios import SERVICES
from ..waiting import wait_for
from .base import Backend, Service
from .mutants import MUTANTS, Hooks
from .spec import ProviderSpec

WHOAMI_PATH = "/opt/lbconform/whoami.py"
KEEPALIVED_CONF = "/etc/keepalived/lbconform.conf"
NFT_PATH = "/etc/lbconform/service.nft"
PID_FILES = ["-p", "/run/lbc-keepalived.pid", "-r", "/run/lbc-vrrp.pid"]
FIRST_VRID = 51
MODES = implementations.LAB_MODES  #: the data-plane modes :func:`render_ruleset` renders
CONVERGE_BUDGET = 15.0  #: seconds for the VIPs to settle on one owner each after a change
#: seconds for keepalived to run and open its VRRP socket, and for a whoami backend to answer 200. A start is
#: confirmed as soon as it is up (a wait on the condition), so the budget only bounds how long a start that
#: never comes is waited for. 10 s was once too short after a node-stop's undo on the 2-core machine with a
#: CPU hog and two other lab runs beside it (mutant bench run, 2026-11-28): an inconclusive check, not an LB
#: failure, but a false one. 30 s leaves that margin.
AGENT_START_BUDGET = 30.0
AGENT_STOP_BUDGET = 10.0  #: seconds for a SIGTERMed keepalived to finish its shutdown before it is started again
BACKEND_START_BUDGET = 30.0
SPOOFED_MAC = "02:00:00:00:be:ef"  #: the ether-spoof mutant's Ethernet source (locally administered, no node's)
VRRP_PROTO = 112  #: IPPROTO_VRRP: keepalived is up once it has a raw socket of it (and its VRRP child)
RELEASE_BATCH = "/etc/lbconform/release-vips.ip"  #: `ip -batch`: remove the VIPs a SIGKILLed keepalived left


def lab_services(topology: Topology) -> tuple[Service, ...]:
    """The three services of the KANS notes (svc1..3), with VIPs from the top of the subnet."""
    vips = topology.vip_pool[: len(SERVICES)]
    vips6: list[str | None] = list(topology.vip_pool6[: len(SERVICES)]) or [None] * len(SERVICES)
    return tuple(Service(name, vip, 80, policy, affinity, vip6)
                 for (name, (policy, affinity)), vip, vip6 in zip(SERVICES.items(), vips, vips6, strict=True))


def lab_backends(topology: Topology, port: int) -> tuple[Backend, ...]:
    """One whoami backend per worker (``webpod1`` on ``worker`` …), as the notes pin pods."""
    return tuple(Backend(f"webpod{i}", w.short, w.ip, port, w.ip6) for i, w in enumerate(topology.workers, start=1))


def priority(node_index: int, service_index: int, nodes: int) -> int:
    """Rotated priorities so that each VIP has a different preferred owner (as MetalLB spreads them).

    Spread wide (254, 128, 2 for three nodes): after the master's priority-0 advert each backup becomes master after
    its skew time, (256 - priority) / 256 × advert_int (RFC 5798 §6.4.2), and the second backup must hear the first
    one's advert before its own expires. With 150/100/50 that margin was 19.5 ms at advert_int 0.1 s, and in the
    clean-clone CI at 686e0c6 (main command, agent-kill svc2 IPv6) both backups became master: the lower one's
    unsolicited NAs came last, the client followed them, and failover-budget failed the healthy reference. Now
    49 ms."""
    rank = (node_index - service_index) % nodes
    return 254 - 126 * rank if nodes <= 3 else 200 - 10 * rank


def render_keepalived(node: Host, node_index: int, services: tuple[Service, ...], nodes: int, advert_int: float,
                      only_preferred: bool = False, collapse: bool = False, split_families: bool = False) -> str:
    """keepalived.conf for one node: one VRRPv3 instance per VIP, every node starts BACKUP. A dual-stack service
    has a second instance, ``<name>_v6``, for its IPv6 VIP: VRRPv3 over IPv6 (adverts to ff02::12 from the
    link-local address; keepalived sends unsolicited neighbour advertisements on becoming master), with the same
    priorities, so one node holds both addresses.

    Mutants: ``only_preferred`` (no-failover): a node runs an instance only for the VIPs it prefers;
    ``collapse`` (owner-collapse): every VIP gets the first VIP's priorities, so one node holds them all;
    ``split_families`` (family-split): the IPv6 instances get the next service's priorities.
    """
    blocks = [
        "global_defs {\n"
        f"  router_id {node.short}\n"
        "  vrrp_version 3\n"
        "  vrrp_garp_master_delay 5\n"
        "  vrrp_garp_master_repeat 5\n"
        "}\n"
    ]
    for i, svc in enumerate(services):
        instances = [(svc.name, f"{svc.vip}/32", 0 if collapse else i)]
        if svc.vip6:
            instances.append((f"{svc.name}_v6", f"{svc.vip6}/128", (i + 1 if split_families else i) if not collapse
                              else 0))
        for name, address, rank in instances:
            if only_preferred and (priority(node_index, rank, nodes) !=
                                   max(priority(n, rank, nodes) for n in range(nodes))):
                continue
            blocks.append(
                f"vrrp_instance {name} {{\n"
                "  state BACKUP\n"
                "  interface eth0\n"
                f"  virtual_router_id {FIRST_VRID + i}\n"
                f"  priority {priority(node_index, rank, nodes)}\n"
                f"  advert_int {advert_int}\n"
                f"  virtual_ipaddress {{\n    {address} dev eth0\n  }}\n"
                "}\n"
            )
    return "\n".join(blocks)


def render_ruleset(node: Host, services: tuple[Service, ...], backends: tuple[Backend, ...], mode: str,
                   skew: bool = False, masquerade_local: bool = False, refuse_to: str | None = None,
                   refuse_only: frozenset[str] | None = None, rr_drops_first: bool = False,
                   affinity_ignored: bool = False, masquerade_local_v6: bool = False,
                   refuse_to6: str | None = None) -> str:
    """The nftables service rules of one node for data-plane ``mode`` (``random`` or ``rr``): ``table ip lbconform``
    and, for dual-stack services, ``table ip6 lbconform`` with the same rules over the IPv6 addresses.

    Atomic: the file deletes and recreates the tables in one transaction. ``masquerade_local_v6`` (snat-on-local-v6)
    masquerades Local services in the IPv6 table only; ``refuse_to6`` is ``refuse_to``'s IPv6 address."""
    text = _render_family(4, node, services, backends, mode, skew, masquerade_local, refuse_to, refuse_only,
                          rr_drops_first, affinity_ignored)
    if any(s.vip6 for s in services) and node.ip6:
        text += _render_family(6, node, services, backends, mode, skew, masquerade_local or masquerade_local_v6,
                               refuse_to6, refuse_only, rr_drops_first, affinity_ignored)
    return text


def _render_family(family: int, node: Host, services: tuple[Service, ...], backends: tuple[Backend, ...], mode: str,
                   skew: bool, masquerade_local: bool, refuse_to: str | None, refuse_only: frozenset[str] | None,
                   rr_drops_first: bool, affinity_ignored: bool) -> str:
    """One family's table of :func:`render_ruleset` (``ip`` for 4, ``ip6`` for 6); ``refuse_only`` names services'
    IPv4 VIPs (a dual-stack service's IPv6 rules follow its IPv4 ones).
    Mutants: ``skew`` lists the first backend twice in Cluster maps; ``masquerade_local`` SNATs
    Local services like Cluster ones; ``refuse_to`` (lossy) adds an endpoint at that address, where
    nothing listens, to every service's map, so a share of new connections is refused (a stale endpoint);
    with ``refuse_only`` (lossy-takeover) only to the maps of those VIPs; ``rr_drops_first`` (rr-drops-backend)
    leaves the first backend out of the first Cluster service's map in rr mode; ``affinity_ignored`` schedules a
    ClientIP service with the mode's scheduler.
    """
    if mode not in ("random", "rr"):
        raise ValueError(f"data-plane mode {mode!r} is not one of random, rr")
    nft = "ip" if family == 4 else "ip6"
    gen = "numgen random" if mode == "random" else "numgen inc"
    port = backends[0].port
    local = [b.address(family) for b in backends if b.node == node.short]
    first_plain = next((s for s in services if s.traffic_policy == "Cluster" and s.affinity == "None"), None)
    rules: list[str] = []
    cluster_vips: list[str] = []
    for svc in services:
        if family == 6 and not svc.vip6:
            continue
        vip = svc.address(family)
        match = f"{nft} daddr {vip} tcp dport {svc.port}"
        refuse = refuse_to if refuse_only is None or svc.vip in refuse_only else None
        if svc.traffic_policy == "Local":
            if local and refuse:
                rules.append(f"{match} dnat to {gen} mod 4 map {{ 0 : {local[0]}, 1 : {local[0]}, "
                             f"2 : {local[0]}, 3 : {refuse} }} : {port}")
            elif local:
                rules.append(f"{match} dnat to {_host_port(local[0], port)}")
            else:
                rules.append(f"{match} drop")
            if masquerade_local:
                cluster_vips.append(vip)
            continue
        cluster_vips.append(vip)
        sticky = svc.affinity == "ClientIP" and not affinity_ignored
        selector = f"jhash {nft} saddr" if sticky else gen
        targets = [b.address(family) for b in
                   ([backends[0], *backends] if skew and svc.affinity != "ClientIP" else backends)]
        if rr_drops_first and mode == "rr" and svc == first_plain:
            targets = targets[1:]
        if refuse:
            targets.append(refuse)
        mapping = ", ".join(f"{i} : {ip}" for i, ip in enumerate(targets))
        rules.append(f"{match} dnat to {selector} mod {len(targets)} map {{ {mapping} }} : {port}")
    lines = [
        f"table {nft} lbconform",
        f"delete table {nft} lbconform",
        f"table {nft} lbconform {{",
        "  chain prerouting {",
        "    type nat hook prerouting priority dstnat; policy accept;",
        *(f"    {r}" for r in rules),
        "  }",
    ]
    if cluster_vips:
        vips = ", ".join(cluster_vips)
        lines += [
            "  chain postrouting {",
            "    type nat hook postrouting priority srcnat; policy accept;",
            f"    ct status dnat ct original {nft} daddr {{ {vips} }} masquerade",
            "  }",
            "  chain input {",
            "    type nat hook input priority 100; policy accept;",
            f"    ct status dnat ct original {nft} daddr {{ {vips} }} snat to {node.address(family)}",
            "  }",
        ]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _host_port(address: str, port: int) -> str:
    """``address:port`` as nft's ``dnat to`` reads it (an IPv6 address in brackets)."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


@dataclass
class KeepalivedLab:
    """The reference provider deployed on a lab topology."""

    spec: ProviderSpec
    docker: docker.DockerClient
    topology: Topology
    progress: Callable[[str], None] = print
    mutant: str | None = None  #: a name from providers/mutants.py: break one promise on purpose

    def __post_init__(self) -> None:
        self.port = int(self.spec.settings.get("backend_port", 8080))
        if self.mutant is not None and self.mutant not in MUTANTS:
            raise ValueError(f"mutant {self.mutant!r} is not one of {', '.join(MUTANTS)}")
        #: what the mutant changes (all defaults: the healthy reference)
        self.hooks = MUTANTS[self.mutant].hooks if self.mutant else Hooks()
        self.advert_int = self.hooks.advert_int or float(self.spec.settings.get("advert_int", 0.1))
        self.services = lab_services(self.topology)
        self.backends = lab_backends(self.topology, self.port)
        self.mode: str | None = None
        self._version = ""
        self._runs_vrrp: dict[str, bool] = {}  #: node → its keepalived.conf has a vrrp_instance
        self._timers: list[threading.Timer] = []  #: stale-owner: pending removals of stale addresses
        self._stopping: dict[str, bool] = {}  #: node → its keepalived was sent SIGTERM and may still be shutting down

    # -- deployment ----------------------------------------------------------------------------
    def deploy(self) -> None:
        """Start the backends and keepalived on every worker; wait for one owner per VIP."""
        self.progress(f"lbconform: deploying keepalived + {len(self.backends)} whoami backends on {self.topology.cluster}")
        with ThreadPoolExecutor(max_workers=len(self.topology.workers)) as pool:  # nodes are independent
            list(pool.map(self.start_node, self.topology.workers))
        bridge = self.bridge_ruleset()
        if bridge is not None:
            host_nft.load(bridge)
        self.wait_converged()

    def start_node(self, node: Host) -> None:
        """Install and start everything the LB runs on ``node`` (also after a node restart).

        Each start is confirmed (backend answering, keepalived holding its VRRP socket); one that
        does not come up is an :class:`InfrastructureError` naming the node and the daemon's last log lines.
        """
        c = self.docker.containers.get(node.name)
        backend = next(b for b in self.backends if b.node == node.short)
        conf = self.keepalived_conf(node)
        release = "".join(f"address del {svc.vip}/32 dev eth0\n" for svc in self.services) + "".join(
            f"address del {svc.vip6}/128 dev eth0\n" for svc in self.services if svc.vip6)
        containers.put_files(c, {WHOAMI_PATH: Path(whoami.__file__).read_text(), KEEPALIVED_CONF: conf,
                                 RELEASE_BATCH: release})
        self._runs_vrrp[node.short] = "vrrp_instance" in conf
        with ThreadPoolExecutor(max_workers=1) as side:  # the backend starts beside the data plane
            backend_up = side.submit(containers.start_daemon, c, "whoami",
                                     ["python3", WHOAMI_PATH, "--name", backend.name, "--port", str(self.port)],
                                     ready=[f"http=http://127.0.0.1:{self.port}/"], budget=BACKEND_START_BUDGET)
            for argv in self.lo_commands():
                containers.run(c, argv)
            if self.mode:  # the data plane first: the agent takes its VIPs back at once (preemption), and a VIP
                self._load_rules(node, self.mode)  # without DNAT rules answers RST on port 80
                self._forget_untranslated(node)
            backend_up.result()  # and the backend: a VIP taken back must find it answering
            self.start_agent(node)

    def _forget_untranslated(self, node: Host) -> None:
        """Delete the connections ``node`` tracked for the VIPs before its rules were loaded.

        A client whose neighbour entry still names this node (no other node took the VIP over) sends
        SYNs to it as soon as it boots; conntrack records them without DNAT, and a later connection
        reusing such a source port (Linux walks the same ports per destination; SYN_SENT entries live
        120 s) would bypass DNAT and meet the node's own closed port 80: RST. Measured: 28 of 120
        connections refused in the SNAT check after a node-stop with no takeover. kube-proxy likewise
        clears conntrack entries of a service IP when its rules change."""
        c = self.docker.containers.get(node.name)
        for svc in self.services:
            containers.run(c, ["conntrack", "-D", "--orig-dst", svc.vip], check=False)  # exit 1: none found
            if svc.vip6:
                containers.run(c, ["conntrack", "-D", "-f", "ipv6", "--orig-dst", svc.vip6], check=False)

    def start_agent(self, node: Host) -> None:
        """Start keepalived on ``node`` and return once it runs and holds its VRRP socket.

        When no keepalived runs, what an earlier one left is removed first: pid files (in ``/run``, a
        tmpfs per node boot, so a pid file naming an unrelated process can never make keepalived believe
        it is already running and exit) and VIPs a SIGKILLed keepalived left on eth0 (agent-crash).
        """
        c = self.docker.containers.get(node.name)
        stale = self._former_holders(node) if self.hooks.stale_owner_s else {}
        if self._stopping.get(node.short, False):  # a SIGTERMed keepalived finishes its shutdown first
            wait_for(lambda: containers.run(c, ["pgrep", "-x", "keepalived"], check=False).exit_code,
                     lambda code: code == 1, budget=AGENT_STOP_BUDGET, what=f"keepalived on {node.name} exiting "
                     "after SIGTERM")
            self._stopping.pop(node.short)
        if containers.run(c, ["pgrep", "-x", "keepalived"], check=False).exit_code == 1:
            containers.run(c, ["rm", "-f", *PID_FILES[1::2]])
            containers.run(c, ["ip", "-force", "-batch", RELEASE_BATCH], check=False)  # exit 1: none was there
        ready = ["child=keepalived"] + ([f"raw-socket={VRRP_PROTO}"] if self._runs_vrrp.get(node.short, True) else [])
        containers.start_daemon(c, "keepalived", ["keepalived", "-n", "-l", "-D", *PID_FILES, "-f", KEEPALIVED_CONF],
                                ready=ready, budget=AGENT_START_BUDGET)
        if stale:
            self._keep_answering_after_failback(node, stale)

    def _former_holders(self, node: Host) -> dict[Service, list[str]]:
        """stale-owner: for the VIPs ``node`` prefers, the other nodes holding them now (before it returns)."""
        return {s: [h for h in self.holders(s) if h != node.short] for s in self.services
                if self.preferred_owner(s) == node.short}

    def _keep_answering_after_failback(self, node: Host, former: dict[Service, list[str]]) -> None:
        """stale-owner: once ``node`` holds its VIPs again, each former holder keeps answering ARP for them
        (the VIP on lo, arp_ignore 0) for ``hooks.stale_owner_s``, as a former leader that has not noticed yet."""
        for svc, holders in former.items():
            wait_for(functools.partial(self.holders, svc), lambda h: h == [node.short], budget=CONVERGE_BUDGET,
                     what=f"{node.short} holding {svc.name} again")
            for holder in holders:
                c = self.docker.containers.get(self.topology.node(holder).name)
                containers.run(c, ["ip", "addr", "replace", f"{svc.vip}/32", "dev", "lo"])
                timer = threading.Timer(self.hooks.stale_owner_s, _forget_stale, (c, svc.vip))
                timer.daemon = True
                timer.start()
                self._timers.append(timer)

    def kill_agent(self, node: Host) -> None:
        """Stop keepalived on ``node`` as Kubernetes deletes an agent pod (SIGTERM), and return: like a pod in
        Terminating, it shuts down on its own time (measured ≈ 1 s here); :meth:`start_agent` waits for it to be gone.

        keepalived withdraws its VIPs and sends a priority-0 advert at once, so a backup takes over at
        once. (SIGKILL would leave the VIPs on eth0: the node would keep answering ARP.)
        """
        c = self.docker.containers.get(node.name)
        containers.run(c, ["pkill", "-TERM", "-x", "keepalived"], check=False)
        self._stopping[node.short] = True

    def crash_agent(self, node: Host) -> None:
        """SIGKILL keepalived on ``node``: it cannot withdraw its VIPs, which stay on eth0, so the node keeps
        answering ARP while a backup takes over (two owners: the measured split, README)."""
        c = self.docker.containers.get(node.name)
        containers.run(c, ["pkill", "-KILL", "-x", "keepalived"], check=False)
        wait_for(lambda: containers.run(c, ["pgrep", "-x", "keepalived"], check=False).exit_code,
                 lambda code: code == 1, budget=10, what=f"keepalived on {node.name} gone after SIGKILL")

    def set_mode(self, mode: str) -> None:
        """Switch every node's data plane to ``mode`` (cheap: one atomic nft transaction per node, side by side)."""
        if mode == self.mode:
            return
        with ThreadPoolExecutor(max_workers=len(self.topology.workers)) as pool:
            list(pool.map(lambda node: self._load_rules(node, mode), self.topology.workers))
        self.mode = mode

    def _load_rules(self, node: Host, mode: str) -> None:
        c = self.docker.containers.get(node.name)
        containers.put_file(c, NFT_PATH, self.ruleset(node, mode))
        containers.run(c, ["nft", "-f", NFT_PATH])

    # -- what the provider loads (pure: also what --plan prints) -------------------------------
    @classmethod
    def planned(cls, spec: ProviderSpec, topology: Topology, mutant: str | None = None) -> KeepalivedLab:
        """The provider as ``--plan`` renders it: every method of this section works, nothing reaches an engine."""
        return cls(spec, cast(docker.DockerClient, _NoEngine()), topology, progress=lambda _: None, mutant=mutant)

    def keepalived_conf(self, node: Host) -> str:
        """keepalived.conf of ``node``, with the mutant's hooks."""
        return render_keepalived(node, self.topology.workers.index(node), self.services, len(self.topology.workers),
                                 self.advert_int, only_preferred=self.hooks.only_preferred_vrrp,
                                 collapse=self.hooks.collapse_priorities, split_families=self.hooks.split_families)

    def ruleset(self, node: Host, mode: str) -> str:
        """The nftables service rules of ``node`` in ``mode``, with the mutant's hooks."""
        dead = self.topology.node("control-plane")
        refuse_to = dead.ip if self.hooks.refuse_new else None
        not_preferred = frozenset(s.vip for s in self.services if self.preferred_owner(s) != node.short)
        return render_ruleset(node, self.services, self.backends, mode, skew=self.hooks.skew,
                              masquerade_local=self.hooks.masquerade_local, refuse_to=refuse_to,
                              refuse_only=not_preferred if self.hooks.refuse_new == "not-preferred" else None,
                              rr_drops_first=self.hooks.rr_drops_first_backend,
                              affinity_ignored=self.hooks.affinity_ignored,
                              masquerade_local_v6=self.hooks.masquerade_local_v6,
                              refuse_to6=(dead.ip6 or None) if self.hooks.refuse_new else None)

    def lo_commands(self) -> list[list[str]]:
        """multi-responder: what kube-ipvs0 does to every node without strictARP (every VIP on lo); proxy-ndp: every
        node proxies NDP for every IPv6 VIP (``ip -6 neigh add proxy``: it answers Neighbor Solicitations for an
        address it does not hold; IPv6 never answers for an address on lo, RFC 4861 §7.2.3); else none."""
        commands = []
        if self.hooks.vips_on_lo:
            commands += [["ip", "addr", "replace", f"{svc.vip}/32", "dev", "lo"] for svc in self.services]
        if self.hooks.proxy_ndp:
            commands += [["ip", "-6", "neigh", "replace", "proxy", svc.vip6, "dev", "eth0"]
                         for svc in self.services if svc.vip6]
        return commands

    def bridge_ruleset(self) -> str | None:
        """The mutant's table on the host bridge (``hooks.bridge``), None for the healthy LB."""
        if self.hooks.bridge in ("drop-garp", "drop-preferred-garp"):
            return self._garp_drop_ruleset(only_from_preferred=self.hooks.bridge == "drop-preferred-garp")
        if self.hooks.bridge in ("spoof-arp-source", "spoof-garp-source"):
            return self._arp_source_ruleset(gratuitous=self.hooks.bridge == "spoof-garp-source")
        if self.hooks.bridge == "drop-unsolicited-na":
            return self._na_drop_ruleset()
        return None

    # -- what the LB reports -------------------------------------------------------------------
    def holders(self, service: Service) -> list[str]:
        """Short names of the nodes that hold ``service``'s VIP on eth0 right now."""
        return [node for node, vips in self._addresses().items() if service.vip in vips]

    def _addresses(self) -> dict[str, set[str]]:
        """Each running worker's addresses on eth0 (IPv4 and IPv6), read from all workers side by side."""
        def read(node: Host) -> set[str] | None:
            c = self.docker.containers.get(node.name)
            if c.status != "running":
                return None
            res = containers.run(c, ["ip", "-j", "addr", "show", "dev", "eth0"], check=False)
            if res.exit_code != 0:
                return None
            return {a["local"] for link in json.loads(res.stdout or "[]") for a in link.get("addr_info", [])}

        with ThreadPoolExecutor(max_workers=len(self.topology.workers)) as pool:
            found = dict(zip((n.short for n in self.topology.workers), pool.map(read, self.topology.workers),
                             strict=True))
        return {node: addrs for node, addrs in found.items() if addrs is not None}

    def _holders_of_all(self) -> dict[str, list[str]]:
        """service (``<name>`` for its IPv4 VIP, ``<name>/v6`` for its IPv6 one) → the nodes holding that VIP, from one
        read of every worker's addresses."""
        addresses = self._addresses()
        return {key: [n for n, vips in addresses.items() if vip in vips] for key, vip in self._vips().items()}

    def _vips(self) -> dict[str, str]:
        """``<name>`` → IPv4 VIP and ``<name>/v6`` → IPv6 VIP of every service."""
        found = {s.name: s.vip for s in self.services}
        return found | {f"{s.name}/v6": s.vip6 for s in self.services if s.vip6}

    def owner(self, service: Service) -> str | None:
        """The node the LB says announces ``service`` (keepalived: the one holding the VIP)."""
        holders = self.holders(service)
        if len(holders) != 1:
            return None
        if self.hooks.misreport_owner:
            workers = [w.short for w in self.topology.workers]
            return workers[(workers.index(holders[0]) + 1) % len(workers)]
        return holders[0]

    def preferred_owner(self, service: Service) -> str:
        """The node with the highest VRRP priority for ``service`` in the rendered configuration: its
        owner once everything is up (what convergence waits for)."""
        nodes = len(self.topology.workers)
        index = next(i for i, s in enumerate(self.services) if s.name == service.name)
        rank = 0 if self.hooks.collapse_priorities else index
        if ":" in service.vip and self.hooks.split_families and not self.hooks.collapse_priorities:
            rank += 1  # the IPv6 instance (the service as asked in family 6) has the next service's priorities
        best = max(range(nodes), key=lambda n: priority(n, rank, nodes))
        return self.topology.workers[best].short

    def intended_owners(self) -> dict[str, str]:
        """The promise (capability ``spread_owners``): priorities rotated per VIP, so each service has
        its own preferred node (as MetalLB spreads announcements)."""
        nodes = len(self.topology.workers)
        return {svc.name: self.topology.workers[max(range(nodes), key=lambda n: priority(n, i, nodes))].short
                for i, svc in enumerate(self.services)}

    def wait_converged(self, budget: float = CONVERGE_BUDGET) -> dict[str, str]:
        """Wait until every VIP is held by exactly its preferred node; return service → owner.

        Exactly one holder is not enough after a fault is undone: the restarted original owner
        preempts only after its master-down interval, and a check started before that would
        measure that late move instead of its own fault.
        """
        want = {s.name: [self.preferred_owner(s)] for s in self.services} | {
            f"{s.name}/v6": [self.preferred_owner(dataclasses.replace(s, vip=s.vip6))] for s in self.services if s.vip6}
        snap = wait_for(self._holders_of_all, lambda snap: snap == want,
                        budget=budget, what=f"every VIP held by its preferred node only ({want})")
        return {name: holders[0] for name, holders in snap.items() if "/" not in name}

    def wait_owner(self, service: Service, not_on: str, budget: float = CONVERGE_BUDGET) -> str:
        """Wait until exactly one node other than ``not_on`` holds ``service``'s VIP; return it.

        ``not_on`` may still hold it as well (a SIGKILLed or frozen agent cannot withdraw the address):
        that is a takeover with a split, which the ARP ownership verdict reports, not "no takeover".
        """
        holders = wait_for(lambda: [h for h in self.holders(service) if h != not_on], lambda h: len(h) == 1,
                           budget=budget, what=f"{service.name} owned by one node other than {not_on}")
        return holders[0]

    # -- the garp-loss mutant: a filter on the host bridge (keepalived sends GARP through packet
    # sockets, so an arp-family rule inside the node would not stop it) --------------------------
    @property
    def _bridge_table(self) -> str:
        return host_nft.table_name(self.topology.cluster, "mutant")

    def _garp_drop_ruleset(self, only_from_preferred: bool = False) -> str:
        """garp-loss: drop every gratuitous ARP for the VIPs; silent-failback: only those each VIP's preferred
        owner sends for it (so it takes the VIP back without telling anyone)."""
        def source(s: Service) -> str:
            return f"ether saddr {self.topology.node(self.preferred_owner(s)).mac} " if only_from_preferred else ""

        rules = "".join(f"    ether type arp {source(s)}arp saddr ip {s.vip} arp daddr ip {s.vip} drop\n"
                        for s in self.services)
        return (f"table bridge {self._bridge_table} {{\n"
                f"  chain garp_drop {{\n    type filter hook forward priority 0; policy accept;\n"
                f"{rules}  }}\n}}\n")  # the VIPs are this run's own, so no bridge match is needed

    def _na_drop_ruleset(self) -> str:
        """na-suppressed: drop every unsolicited neighbour advertisement for the IPv6 VIPs (to all-nodes, ff02::1) on
        the host bridge; solicited ones (answers to a Neighbor Solicitation, sent to the asker) pass."""
        vips6 = ", ".join(s.vip6 for s in self.services if s.vip6)
        return (f"table bridge {self._bridge_table} {{\n  chain na_drop {{\n"
                f"    type filter hook forward priority 0; policy accept;\n"
                f"    ip6 daddr ff02::1 icmpv6 type nd-neighbor-advert ip6 saddr {{ {vips6} }} drop\n  }}\n}}\n")

    def _arp_source_ruleset(self, gratuitous: bool = False) -> str:
        """ether-spoof: ARP replies for the VIPs leave with another Ethernet source than their ARP sender
        (OpenELB #359 answered from another node's MAC): switches learn the wrong port. garp-spoof
        (``gratuitous``): the same for gratuitous ARP (sender IP = target IP = VIP), so the owner's own frames never
        arrive as sent and the client sees frames claiming its MAC from elsewhere."""
        if gratuitous:
            rules = "".join(f"    ether type arp arp saddr ip {s.vip} arp daddr ip {s.vip} ether saddr set "
                            f"{SPOOFED_MAC}\n" for s in self.services)
        else:
            vips = ", ".join(s.vip for s in self.services)
            rules = f"    ether type arp arp operation reply arp saddr ip {{ {vips} }} ether saddr set {SPOOFED_MAC}\n"
        return (f"table bridge {self._bridge_table} {{\n  chain arp_spoof {{\n"
                f"    type filter hook forward priority 0; policy accept;\n{rules}  }}\n}}\n")

    def cleanup(self) -> None:
        """Remove what the provider put on the host (the mutants' bridge tables) and pending timers."""
        for timer in self._timers:
            timer.cancel()
        if self.hooks.bridge:
            host_nft.delete(self._bridge_table)

    def evidence(self, failed: bool = False) -> dict[str, str]:
        """What a person needs to see why a check failed, per worker: the agent's config, the data-plane rules as
        loaded, the addresses; with ``failed`` also the agent's log and the neighbour table. Best effort: a
        node that does not answer (stopped by a fault) says so instead."""
        commands = {"keepalived.conf": ["cat", KEEPALIVED_CONF], "nft ruleset": ["nft", "list", "ruleset"],
                    "addresses": ["ip", "-br", "addr"]}
        if failed:
            commands |= {"keepalived log": ["tail", "-n", "60", f"{containers.LOG_DIR}/keepalived.log"],
                         "neighbours": ["ip", "neigh"]}

        def read(node: Host) -> dict[str, str]:
            texts = {}
            for what, argv in commands.items():
                try:
                    res = containers.run(self.docker.containers.get(node.name), argv, check=False)
                    text = res.stdout if res.exit_code == 0 else f"(exit {res.exit_code}) {res.stderr}"
                except Exception as exc:  # a stopped or removed node: evidence must never break the run
                    text = f"(not readable: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
                texts[f"{node.short} {what}"] = text
            return texts

        with ThreadPoolExecutor(max_workers=len(self.topology.workers)) as pool:  # the nodes side by side
            return {k: v for texts in pool.map(read, self.topology.workers) for k, v in texts.items()}

    def version(self) -> str:
        if not self._version:
            c = self.docker.containers.get(self.topology.workers[0].name)
            out = containers.run(c, ["keepalived", "--version"], check=False)
            self._version = (out.stderr or out.stdout).strip().splitlines()[0] if (out.stderr or out.stdout) else "?"
        return self._version


class _NoEngine:
    """The Docker client of a planned provider (``--plan`` creates nothing): any use is a bug, said as such."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError(f"--plan contacts no Docker engine (the planned provider used .{name})")


def _forget_stale(c: Container, vip: str) -> None:
    """stale-owner: the former holder finally drops the VIP it kept on lo (the node may be gone by then)."""
    with contextlib.suppress(Exception):
        containers.run(c, ["ip", "addr", "del", f"{vip}/32", "dev", "lo"], check=False)
