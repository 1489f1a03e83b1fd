"""The environment under test: a platform with a provider on it, and the probe clients.

One per session (per xdist worker). ``for_mode`` hands the suites an :class:`LBUnderTest` with the
data plane in that mode (lab: one nft transaction; kind: one cluster per mode).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import docker
import docker.errors
from docker.models.containers import Container

from . import faults, labels
from .config import RunConfig
from .errors import ConfigError, InfrastructureError
from .images import ensure_image
from .platforms import existing, kind
from .platforms.base import Host, Topology
from .platforms.lab import DockerNodeOps, Lab, create_host
from .probes.driver import ProbeClient
from .probes.records import ArpObservation, Sample
from .providers import kube_l2, metallb
from .providers.base import Backend, NodeOps, Provider, Service
from .providers.keepalived import KeepalivedLab
from .providers.spec import KUBE_L2, ProviderSpec
from .reaper import mark_kind_cluster, reap, removal_command, remove_run, unmark_kind_cluster
from .verdicts.failover import forwarder

Progress = Callable[[str], None]
#: the ARP checks' burst: rounds of broadcast who-has for every VIP, each collecting replies for this long. A
#: kernel (keepalived's VIP, kube-ipvs0) answers within a millisecond on a bridge; 0.3 s leaves room for a busy
#: machine, and three rounds for a lost frame.
ARP_WINDOW = 0.3
ARP_ROUNDS = 3
#: seconds a burst serves further ARP checks (the ARP checks of a mode run one after another within ≈ 1 s; a state
#: that changes without a fault — a flap, a re-election, a stale owner's timer — is asked again past this)
ARP_VIEW_MAX_AGE = 5.0


@dataclass
class LBUnderTest:
    """What a check sees: the LB in one data-plane mode, its services, nodes, clients and faults."""

    spec: ProviderSpec
    platform: str
    mode: str
    topology: Topology
    provider: Provider
    probes: dict[str, ProbeClient]
    infra: NodeOps  #: container access and link control, for faults
    cfg: RunConfig
    #: existing: what the run may and can do there (the plugin reports the rest as not tested); None elsewhere
    reach: existing.Reach | None = None
    #: client → ((fault epoch, when), every VIP's ARP responders): one burst serves the ARP checks until a fault, for
    #: at most ARP_VIEW_MAX_AGE s
    _arp_seen: dict[str, tuple[tuple[int, float], dict[str, ArpObservation]]] = field(default_factory=dict,
                                                                                     repr=False)

    @property
    def services(self) -> tuple[Service, ...]:
        return self.provider.services

    @property
    def backends(self) -> tuple[Backend, ...]:
        return self.provider.backends

    def service(self, name: str, family: int = 4) -> Service:
        """The service ``name`` as a check in IP ``family`` sees it: its ``vip`` is its address in that family (the
        provider and the probes then ask about that address)."""
        found = next(s for s in self.services if s.name == name)
        return found if family == 4 else dataclasses.replace(found, vip=found.address(family))

    def converged_owner(self, service: Service) -> str:
        """The node the LB reports for ``service`` (in its family) once the topology settled on one owner per VIP."""
        converged = self.provider.wait_converged()[service.name]
        return self.reported_owner(service) or converged

    def probe(self, client: str = "mypc") -> ProbeClient:
        return self.probes[client]

    def arp_view(self, client: str) -> dict[str, ArpObservation]:
        """Every VIP's ARP responders as ``client`` sees them (VIP → observation), asked in one burst for all VIPs
        (``ARP_ROUNDS`` broadcast rounds of ``ARP_WINDOW`` s). Checks of the same topology share it: it is asked
        again after a fault or its undo (``faults.epoch``) changed what the wire may show, and after
        ``ARP_VIEW_MAX_AGE`` s."""
        now = (faults.epoch(), time.monotonic())
        seen = self._arp_seen.get(client)
        if seen is None or seen[0][0] != now[0] or now[1] - seen[0][1] > ARP_VIEW_MAX_AGE:
            # every client's burst at once: the other ARP checks ask from the other
            vips = [a for s in self.services for a in (s.vip, s.vip6) if a]
            with ThreadPoolExecutor(max_workers=len(self.probes)) as pool:
                bursts = dict(zip(self.probes, pool.map(
                    lambda name: self.probes[name].arp_responders_many(vips, ARP_WINDOW, ARP_ROUNDS), self.probes),
                    strict=True))
            self._arp_seen.update({name: (now, burst) for name, burst in bursts.items()})
            seen = self._arp_seen[client]
        return seen[1]

    def node(self, short: str) -> Host:
        return self.topology.node(short)

    def reported_owner(self, service: Service) -> str | None:
        return self.provider.owner(service)

    def settled_owner(self, service: Service) -> Host:
        """The node the LB reports for ``service`` once the topology has settled (the provider's convergence): a
        check that injects a fault starts from there, never from a move an earlier check left under way. One that
        does not settle, or settles with no single reported owner, is an infrastructure error naming it."""
        converged = self.provider.wait_converged()[service.name]
        reported = self.reported_owner(service)
        if reported is None:
            raise InfrastructureError(f"{self.spec.name} reports no single owner of {service.name} ({service.vip}) "
                                      f"although it converged on {converged}")
        return self.node(reported)

    @property
    def address_owners(self) -> dict[str, str]:
        """Every address that identifies a node as the forwarder → that node: the nodes' own, plus what the
        provider adds (on kind, each node's pod-network gateway: a local pod sees it under Cluster)."""
        extra: dict[str, str] = getattr(self.provider, "address_owners", {})
        return {a: n.short for n in self.topology.nodes for a in (n.ip, n.ip6) if a} | extra

    def forwarder(self, service: Service, also: Mapping[str, str] | None = None) -> Callable[[Sample], str | None]:
        """Who forwarded an answered probe to ``service`` (see ``verdicts.failover.forwarder``), by the addresses
        the nodes use now and ``also`` (addresses they used before a restart)."""
        owners = dict(also or {}) | self.address_owners
        backends = {b.name: b.node for b in self.backends}
        return functools.partial(forwarder, policy=service.traffic_policy, address_owner=owners,
                                 backend_node=backends)

    @property
    def node_addresses(self) -> frozenset[str]:
        """Every address that counts as "a node" for SNAT."""
        return frozenset(self.address_owners)

    def refresh_nodes(self) -> dict[str, str]:
        """Read every node's address and MAC again (after a node restart) and use them from now on;
        return node → MAC."""
        self.topology = self.infra.refreshed(self.topology)
        if hasattr(self.provider, "topology"):
            self.provider.topology = self.topology
        return {n.short: n.mac for n in self.topology.nodes}

    def budget(self, fault_kind: str) -> float:
        return self.cfg.budget(fault_kind)


class Environment(Protocol):
    run_id: str
    version: str

    def setup(self) -> None: ...
    def for_mode(self, mode: str) -> LBUnderTest: ...
    def teardown(self, failed: bool = False) -> None: ...


#: (implementation, platform) → the environment that deploys it; a spec names its implementation with
#: ``provider:`` (default: its own name), so a spec of your own can drive a built-in one
ENVIRONMENTS: dict[tuple[str, str], Callable[[RunConfig, docker.DockerClient, Progress], Environment]] = {}


def make_environment(cfg: RunConfig, client: docker.DockerClient | None, progress: Progress) -> Environment:
    """The environment of ``cfg``'s platform and provider implementation."""
    key = (cfg.spec.implementation, cfg.platform)
    if key not in ENVIRONMENTS:
        available = ", ".join(f"{impl} on {platform}" for impl, platform in ENVIRONMENTS)
        raise ConfigError(f"provider {cfg.spec.implementation} on platform {cfg.platform} is not implemented; "
                          f"available: {available} (a spec of your own names one with provider: NAME)")
    if client is None and cfg.platform != "existing":  # only an existing cluster runs (its API checks) without one
        from .docker_engine import connect

        client = connect()
    return ENVIRONMENTS[key](cfg, client, progress)  # type: ignore[arg-type]


def _reap(client: docker.DockerClient, progress: Progress, host_tables: bool = True) -> None:
    """Remove what runs that are provably over left behind; name the runs that could not be judged."""
    reaped = reap(client, host_tables=host_tables)
    if reaped.removed:
        progress(f"lbconform: removed {len(reaped.removed)} objects left by earlier runs that are over: "
                 f"{', '.join(reaped.removed)}")
    for line in reaped.left:
        progress(f"lbconform: {line}")


def _install_probes(client: docker.DockerClient, hosts: tuple[Host, ...]) -> dict[str, ProbeClient]:
    """A probe agent in each client, installed and confirmed side by side."""
    def install(host: Host) -> ProbeClient:
        probe = ProbeClient(client, host)
        probe.install()
        return probe

    with ThreadPoolExecutor(max_workers=max(1, len(hosts))) as pool:
        return {host.short: probe for host, probe in zip(hosts, pool.map(install, hosts), strict=True)}


class LabEnvironment:
    """Creates the lab and the provider once, and removes them at the end (unless ``keep``)."""

    def __init__(self, cfg: RunConfig, client: docker.DockerClient, progress: Progress) -> None:
        self.cfg, self.client, self.progress = cfg, client, progress
        self.run_id = labels.new_run_id()
        self.lab: Lab | None = None
        self.provider: KeepalivedLab | None = None
        self.probes: dict[str, ProbeClient] = {}
        self.version = ""

    def setup(self) -> None:
        _reap(self.client, self.progress)
        image = ensure_image(self.client, self.cfg.lab_image_source, self.progress)
        self.lab = Lab(self.client, image, self.run_id, progress=self.progress, ipv6=6 in self.cfg.address_families)
        topology = self.lab.up()
        self.provider = KeepalivedLab(self.cfg.spec, self.client, topology, self.progress, mutant=self.cfg.mutant)
        with ThreadPoolExecutor(max_workers=1) as side:  # the clients' agents install while the LB deploys
            probes = side.submit(_install_probes, self.client, topology.clients)
            try:
                self.provider.deploy()
                self.version = self.provider.version()
            finally:  # also when the deploy failed: the sessions that started are the teardown's to close
                with contextlib.suppress(Exception):
                    self.probes = probes.result()
            if not self.probes:
                self.probes = probes.result()  # the install's own error, when the deploy went well

    def for_mode(self, mode: str) -> LBUnderTest:
        assert self.lab is not None and self.lab.topology is not None and self.provider is not None
        self.provider.set_mode(mode)
        return LBUnderTest(spec=self.cfg.spec, platform=self.cfg.platform, mode=mode, topology=self.lab.topology,
                           provider=self.provider, probes=self.probes, infra=self.lab, cfg=self.cfg)

    def teardown(self, failed: bool = False) -> None:
        if self.lab is None:
            return
        if self.cfg.keep:
            self.progress(f"lbconform: --keep: lab {self.lab.cluster} left running "
                          f"(remove with: {removal_command(self.run_id)})")
            return
        try:
            if self.provider is not None:
                self.provider.cleanup()
        finally:  # every step runs; the first error is the one raised
            try:
                for probe in self.probes.values():
                    probe.close()
            finally:
                self.lab.down()
                self.lab = None


class KindEnvironment:
    """One kind cluster per data-plane mode, MetalLB on it, clients on the ``kind`` network.

    Clusters are made one at a time (pytest groups the checks by mode) and each is deleted before
    the next is made, unless ``--keep``. Contract-tested here; not run end to end on this machine.
    """

    def __init__(self, cfg: RunConfig, client: docker.DockerClient, progress: Progress) -> None:
        self.cfg, self.client, self.progress = cfg, client, progress
        self.kind = kind.kind_binary()
        self.run_id = labels.new_run_id()
        self.workdir = Path(tempfile.mkdtemp(prefix="lbconform-kind-"))
        self.clusters: dict[str, kind.KindCluster] = {}
        self.probes: dict[str, ProbeClient] = {}
        self.clients: tuple[Host, ...] = ()
        self.image = ""
        self.version = ""
        self.slot = 0  #: this run's slot on the shared kind network (set with the clients)
        self.failed_modes: set[str] = set()  #: modes in which a check failed: their clusters' logs are exported

    @property
    def dual(self) -> bool:
        """The run judges IPv6: dual-stack clusters, a pool with an IPv6 range, RequireDualStack services."""
        return kind.dual_stack(self.cfg.address_families)

    def setup(self) -> None:
        _reap(self.client, self.progress)
        found = kind.installed_version(self.kind)
        if found != kind.KIND_VERSION and not self.cfg.kind_image:
            images = ", ".join(sorted({kind.node_image(m) for m in self.cfg.modes}))
            self.progress(f"lbconform: warning: kind {found or '(version unknown)'} on PATH; the default node image "
                          f"{images} is built for kind {kind.KIND_VERSION} — install that release or pass "
                          f"--kind-image with an image built for yours (its release notes list them)")
        self.image = ensure_image(self.client, self.cfg.lab_image_source, self.progress)  # the clients' image

    def for_mode(self, mode: str) -> LBUnderTest:
        from .providers.kube_l2_kind import KindKubeL2
        from .providers.metallb_kind import KindMetalLB

        kube = self.cfg.spec.kubernetes
        provider_class = KindKubeL2 if self.cfg.spec.implementation == KUBE_L2 else KindMetalLB
        for other in [m for m in self.clusters if m != mode and not self._keeps_clusters]:
            self._retire(other)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        name = kind.reusable_name(mode, worker) if self.cfg.reuse_clusters else kind.cluster_name(self.run_id, mode)
        cluster = kind.KindCluster(name, mode, self.workdir, kind=self.kind)
        if kube is not None and kube.cluster.disable_default_cni:
            cluster.disable_default_cni = True
        if self.dual:
            cluster.dual = True
        if self.cfg.reuse_clusters and cluster.exists():
            cluster.export_kubeconfig()
            reason = kind.reuse_verdict(name, cluster.labelled_hash(), kind.config_hash(cluster.config))
            if reason:
                raise InfrastructureError(reason)
            self.progress(f"lbconform: reusing kind cluster {name} (config hash matches)")
        else:
            self.progress(f"lbconform: creating kind cluster {name} (kube-proxy {mode}); a few minutes")
            if not self.cfg.reuse_clusters:  # a reusable cluster outlives runs on purpose
                mark_kind_cluster(self.client, self.run_id, name)
            cluster.create(image=self.cfg.kind_image or kind.node_image(mode))
        self.clusters[mode] = cluster
        if self.cfg.preload_images:
            self._preload(cluster)
        subnet, _ = kind.kind_subnet(self.client)
        subnet6 = kind.need_subnet6(kind.kind_subnet6(self.client)[0]) if self.dual else None
        if not self.clients:
            with kind.slot_lock():  # the slot is held by the clients' label from here on
                self.slot = kind.free_slot(self.client)
                self.clients = tuple(
                    create_host(self.client, self.image, self.run_id, "kind", f"lbc-{self.run_id}-{short}", short,
                                "client", kind.KIND_NETWORK, None, {kind.SLOT_LABEL: str(self.slot)})
                    for short in kind.CLIENTS)
            self.progress(f"lbconform: clients {', '.join(f'{c.short} {c.ip}' for c in self.clients)} on the kind "
                          f"network (slot {self.slot})")
            self.probes = _install_probes(self.client, self.clients)
        topology = Topology(cluster=name, network=kind.KIND_NETWORK, subnet=subnet,
                            gateway=str(subnet.network_address + 1), nodes=tuple(kind.nodes(self.client, name)),
                            clients=self.clients, subnet6=subnet6)
        size = int(self.cfg.spec.settings.get("pool_size", 51))
        block = kind.pool_index(self.slot, list(self.cfg.modes).index(mode), len(self.cfg.modes))
        pool = kind.vip_pool(subnet, size, block)
        if subnet6 is not None:  # MetalLB only: config refuses IPv6 on kind for the spec-described LBs
            provider = KindMetalLB(self.cfg.spec, self.client, str(cluster.kubeconfig), topology, pool, self.progress,
                                   pool6=kind.vip_pool6(subnet6, size, block))
        else:
            provider = provider_class(self.cfg.spec, self.client, str(cluster.kubeconfig), topology, pool, self.progress)
        provider.deploy()
        self.version = provider.version()
        return LBUnderTest(spec=self.cfg.spec, platform="kind", mode=mode, topology=topology, provider=provider,
                           probes=self.probes, infra=DockerNodeOps(self.client, topology), cfg=self.cfg)

    def _preload(self, cluster: kind.KindCluster) -> None:
        """Copy the backends' pinned image into every node: pulled only when it is not local already (an air-gapped
        host has it and no registry), saved for its local platform into the run's workdir (``docker save``), loaded
        with ``kind load image-archive``. ``kind load docker-image`` fails with the containerd image store (Docker
        29's default: "content digest … not found", kubernetes-sigs/kind#3795). The pods use it with IfNotPresent."""
        image = metallb.backend_image(self.cfg.spec)
        try:
            self.client.images.get(image)
            self.progress(f"lbconform: {image} is local; loading it into {cluster.name}")
        except docker.errors.ImageNotFound:
            repository, tag = image.rsplit(":", 1)
            self.progress(f"lbconform: pulling {image} and loading it into {cluster.name}")
            try:
                self.client.images.pull(repository, tag=tag)
            except docker.errors.APIError as exc:
                raise InfrastructureError(f"--preload-images: pulling {image} failed: {exc.explanation or exc}") from exc
        archive = self.workdir / kind.archive_name(image)
        if not archive.exists():
            try:
                kind.save_image_archive(self.client, image, archive)
            except docker.errors.APIError as exc:
                archive.unlink(missing_ok=True)
                raise InfrastructureError(f"--preload-images: saving {image} to {archive} failed: "
                                          f"{exc.explanation or exc}") from exc
        cluster.load_archive(archive, image)

    @property
    def _keeps_clusters(self) -> bool:
        return self.cfg.keep or self.cfg.reuse_clusters

    def _delete(self, mode: str) -> None:
        cluster = self.clusters.pop(mode)
        cluster.delete()
        unmark_kind_cluster(self.client, cluster.name)

    def mark_failed(self, mode: str) -> None:
        """A check of ``mode`` failed (the plugin calls this): its cluster's logs are exported before it goes."""
        self.failed_modes.add(mode)

    def _retire(self, mode: str) -> None:
        """Delete the cluster of a mode the run is done with, after exporting its logs when a check of it failed
        (the next mode's cluster replaces it: at the end of the run it would be gone)."""
        if mode in self.failed_modes:
            try:
                self._export_logs(self.clusters[mode])
            except InfrastructureError as exc:  # the logs are evidence, not a reason to keep the cluster
                self.progress(f"lbconform: {exc}")
        self._delete(mode)

    def _export_logs(self, cluster: kind.KindCluster) -> None:
        target = self.cfg.report_dir / "kind-logs" / cluster.name
        self.progress(f"lbconform: a check of mode {cluster.mode} failed: kind export logs → {target}")
        cluster.export_logs(target)

    def teardown(self, failed: bool = False) -> None:
        """Export logs on failure (readable by everyone), then delete the clusters and this run's clients —
        also when an export or a deletion fails: every step runs, the first error is raised at the end."""
        errors: list[BaseException] = []
        if failed:  # the clusters of the modes that failed (all of them when no mode was named)
            for mode, cluster in self.clusters.items():
                if self.failed_modes and mode not in self.failed_modes:
                    continue
                try:
                    self._export_logs(cluster)
                except InfrastructureError as exc:
                    self.progress(f"lbconform: {exc}")
                    errors.append(exc)
        if self._keeps_clusters:
            names = ", ".join(c.name for c in self.clusters.values())
            self.progress(f"lbconform: --keep: kind clusters {names} left running (kubeconfigs in {self.workdir})")
            return
        for mode in list(self.clusters):
            try:
                self._delete(mode)
            except InfrastructureError as exc:
                self.progress(f"lbconform: {exc}")
                errors.append(exc)
        for probe in self.probes.values():
            probe.close()
        remove_run(self.client, self.run_id)
        if errors:
            raise errors[0]


class ExistingNodeOps(DockerNodeOps):
    """Node access on an existing cluster: a node's container by the name the engine knows it by (kind's naming, or
    found by its address); nodes that are no container are left as they are when the topology is read again."""

    def __init__(self, client: docker.DockerClient | None, topology: Topology, names: dict[str, str]) -> None:
        super().__init__(client, topology)  # type: ignore[arg-type]
        self.names = names

    def container(self, host: Host | str) -> Container:
        name = host.name if isinstance(host, Host) else host
        if self.client is None or name not in self.names:
            raise InfrastructureError(f"node {name} is not a container of the Docker engine at "
                                      f"{existing.engine_address()}")
        return self.client.containers.get(self.names[name])

    def refreshed(self, topology: Topology) -> Topology:
        import dataclasses

        nodes = []
        for node in topology.nodes:
            if node.name not in self.names or self.client is None:
                nodes.append(node)
                continue
            net = self.container(node).attrs["NetworkSettings"]["Networks"].get(topology.network) or {}
            nodes.append(dataclasses.replace(node, ip=net.get("IPAddress") or node.ip,
                                             mac=(net.get("MacAddress") or node.mac).lower()))
        self.topology = dataclasses.replace(topology, nodes=tuple(nodes))
        return self.topology


class ExistingEnvironment:
    """A cluster of the user's with MetalLB installed their way (``--platform=existing``).

    Creates only the run's namespace (backends, svc1..3; labelled ``io.lbconform.run``, annotated with the owner's
    token) and, on the nodes' L2 segment, the two clients through the Docker engine that hosts the nodes (local or
    ``DOCKER_HOST=ssh://…``); removes both at the end, also after a failure, Ctrl-C or SIGTERM (the plugin shields
    the teardown), and a later run removes what a run killed with -9 left (:func:`existing.reap_namespaces`)."""

    def __init__(self, cfg: RunConfig, client: docker.DockerClient | None, progress: Progress) -> None:
        assert cfg.target is not None
        self.cfg, self.client, self.progress = cfg, client, progress
        self.target = cfg.target
        self.run_id = labels.new_run_id()
        self.namespace = existing.namespace_name(self.run_id)
        self.version = ""
        self.view: existing.ClusterView | None = None
        self.nodes: existing.NodeContainers | None = None
        self.reach: existing.Reach | None = None
        self.probes: dict[str, ProbeClient] = {}
        self.clients: tuple[Host, ...] = ()
        self.provider: Provider | None = None
        self.topology: Topology | None = None
        self._core: object | None = None
        self._created_namespace = False

    def _api(self) -> object:
        if self._core is None:
            from kubernetes import client as k8s

            self._core = k8s.CoreV1Api(existing.api_client(self.target))
        return self._core

    def setup(self) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self._setup()
        except ApiException as exc:
            raise InfrastructureError(f"the Kubernetes API of context {self.target.context} answered {exc.status} "
                                      f"{exc.reason}: {' '.join(str(exc.body or '').split())[:300]}") from exc
        except InfrastructureError:
            raise
        except Exception as exc:
            if type(exc).__module__.startswith(("urllib3", "kubernetes")):
                raise InfrastructureError(existing.unreachable(self.target, exc)) from exc
            raise

    def _setup(self) -> None:
        if self.client is not None:
            _reap(self.client, self.progress, host_tables=existing.engine_is_local())
        view = existing.read_cluster(self.target, kube_l2.existing_namespace(self.cfg.spec), timeout=None,
                                     agent=kube_l2.existing_agent(self.cfg.spec))
        if not view.reachable:
            raise InfrastructureError(view.why)
        if view.metallb_why:
            raise InfrastructureError(view.metallb_why)
        self.view = view
        removed, left = existing.reap_namespaces(self._api(), self.target.context)
        for line in ([f"removed {len(removed)} objects left by earlier runs that are over: {', '.join(removed)}"]
                     if removed else []) + left:
            self.progress(f"lbconform: {line}")
        self.nodes = existing.find_node_containers(self.client, view.nodes)
        network = self.cfg.client_network or (self.nodes.network if self.nodes.all else None)
        no_client = existing.NO_CLIENT_NETWORK
        if self.client is None:
            network, no_client = None, f"no Docker engine answers at {existing.engine_address()}"
        elif network is not None:
            try:
                net = self.client.networks.get(network)
            except docker.errors.NotFound:
                raise InfrastructureError(f"--client-network={network}: no such network on the Docker engine at "
                                          f"{existing.engine_address()}; give a network on the nodes' L2 segment "
                                          "(docker network ls)") from None
            subnet_text = next((c["Subnet"] for c in (net.attrs.get("IPAM") or {}).get("Config") or []
                                if ":" not in str(c.get("Subnet", ":"))), None)
        self.progress(f"lbconform: cluster {self.target.context} ({self.target.server}): {len(view.nodes)} nodes, "
                      f"kube-proxy {self.cfg.proxy.note if self.cfg.proxy else '?'}; "
                      f"{kube_l2.existing_agent(self.cfg.spec).project} {view.metallb_version}; "
                      + (f"nodes are containers of {self.nodes.engine} on {self.nodes.network}" if self.nodes.all
                         else self.nodes.why_not()))
        if network is not None:
            image = ensure_image(self.client, self.cfg.lab_image_source, self.progress)  # type: ignore[arg-type]
            self.clients = tuple(
                create_host(self.client, image, self.run_id, "existing", f"lbc-{self.run_id}-{short}", short,  # type: ignore[arg-type]
                            "client", network, None) for short in kind.CLIENTS)
            self.progress(f"lbconform: clients {', '.join(f'{c.short} {c.ip}' for c in self.clients)} on {network} "
                          f"({existing.engine_address()})")
            self.probes = _install_probes(self.client, self.clients)  # type: ignore[arg-type]
        hosts = []
        for node in view.nodes:
            mac = self.nodes.macs.get(node.name, "")
            if not mac and self.probes:  # not a container of the engine: its MAC as a client on the segment sees it
                seen = self.probes[kind.CLIENTS[0]].arp_responders(node.internal_ip, ARP_WINDOW, 2).macs
                if len(seen) != 1:  # the ARP checks would call its answers "not a node's": the network is wrong
                    raise InfrastructureError(
                        f"node {node.name} ({node.internal_ip}) answers ARP from {network} with "
                        f"{', '.join(seen) or 'nothing'}, not one MAC: is --client-network on the nodes' L2 segment?")
                mac = seen[0]
            role = "control-plane" if node.control_plane else "worker" if node.worker else "excluded"
            hosts.append(Host(node.name, role, node.internal_ip, mac.lower(), node.name))
        import ipaddress

        subnet = ipaddress.IPv4Network(subnet_text if network is not None and subnet_text else
                                       f"{hosts[0].ip if hosts and hosts[0].ip else '0.0.0.0'}/32", strict=False)
        self.topology = Topology(cluster=self.target.context, network=network or "", subnet=subnet,
                                 gateway=str(subnet.network_address + 1) if subnet.num_addresses > 2 else "",
                                 nodes=tuple(hosts), clients=self.clients)
        from .providers.kube_l2_existing import ExistingKubeL2
        from .providers.metallb_existing import ExistingMetalLB

        provider_class = ExistingKubeL2 if self.cfg.spec.implementation == KUBE_L2 else ExistingMetalLB
        self.provider = provider_class(self.cfg.spec, self.client, view, self.topology, self.run_id, self.progress,
                                        self.nodes.containers)
        self._created_namespace = True  # from here on the teardown deletes it (it may exist half-made)
        self.provider.deploy()
        self.version = self.provider.version()
        self.reach = existing.Reach(self.cfg.allow_faults, self.nodes, network, no_client)

    def for_mode(self, mode: str) -> LBUnderTest:
        assert self.topology is not None and self.provider is not None
        return LBUnderTest(spec=self.cfg.spec, platform="existing", mode=mode, topology=self.topology,
                           provider=self.provider, probes=self.probes,
                           infra=ExistingNodeOps(self.client, self.topology, self.nodes.containers if self.nodes else {}),
                           cfg=self.cfg, reach=self.reach)

    def teardown(self, failed: bool = False) -> None:
        """Delete the run's namespace (backends, services, the allocation checks' services) and remove the clients;
        every step runs, the first error is raised at the end. ``--keep`` leaves both and says how to remove them."""
        if self.cfg.keep:
            self.progress(f"lbconform: --keep: namespace {self.namespace} and clients left (remove with: "
                          f"{existing.removal_hint(self.namespace, self.target.context)}; {removal_command(self.run_id)})")
            return
        errors: list[BaseException] = []
        if self._created_namespace:
            try:
                existing.delete_namespace(self._api(), self.namespace)
                self._created_namespace = False
            except Exception as exc:  # said, and the clients still go
                errors.append(exc)
                self.progress(f"lbconform: deleting namespace {self.namespace} failed ({exc}); remove it with: "
                              f"{existing.removal_hint(self.namespace, self.target.context)}")
        for probe in self.probes.values():
            probe.close()
        if self.client is not None:
            remove_run(self.client, self.run_id)
        if errors:
            first = errors[0]
            raise first if isinstance(first, InfrastructureError) else InfrastructureError(str(first))


ENVIRONMENTS.update({("keepalived", "lab"): LabEnvironment, ("metallb", "kind"): KindEnvironment,
                     (KUBE_L2, "kind"): KindEnvironment, (KUBE_L2, "existing"): ExistingEnvironment,
                     ("metallb", "existing"): ExistingEnvironment})
