"""The kind platform: one cluster per kube-proxy mode, built exactly to kind's documentation.

- the ``kind`` CLI on PATH (never a downloaded, pinned binary: those go stale with kubeadm);
- an isolated kubeconfig per cluster (``--kubeconfig``; ~/.kube/config is never touched);
- nodes found by kind's labels ``io.x-k8s.kind.cluster`` / ``io.x-k8s.kind.role``;
- a kept cluster is reused only when its config hash (a node label) matches;
- the client containers join kind's ``kind`` docker network with addresses Docker assigns: kind creates
  that network with a user subnet for IPv6 only, and Docker before 29.0.4 refuses a static IPv4 on an
  auto-allocated subnet ("user specified IP address is supported only when connecting to networks with
  user configured subnets": moby's ``validateIPAMConfigIsInRange``; kind
  ``pkg/cluster/internal/providers/docker/network.go``);
- every run (and xdist worker) reserves a slot on that shared network under a host-wide lock, and takes
  its VIP pools from its slot, so two runs never announce the same address.

Verified here by contract tests (configs, command lines, parsing); not run end to end on this
project's machine, which cannot pull kind's node image.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import ipaddress
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import yaml

from .. import hostcmd, implementations, labels
from ..errors import ConfigError, InfrastructureError
from ..paths import FIXTURES
from .base import Host

KIND_NETWORK = "kind"                       #: kind's fixed docker network name
CLUSTER_LABEL = "io.x-k8s.kind.cluster"
ROLE_LABEL = "io.x-k8s.kind.role"
HASH_LABEL = "lbconform.io/config-hash"     #: Kubernetes node label carrying the config hash
INSTALL_PAGE = "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
#: the kind release the workflow installs
KIND_VERSION = "v0.33.0"
#: the node images pre-built for kind v0.33.0 (its release notes, "Images pre-built for this release"), newest first.
#: The release itself is not in the kind snapshot read for this project (it ends at v0.33.0-alpha, whose default is
#: v1.37.0-rc.1): each digest is the one several independent public repositories pin with kind v0.33.0, one of them
#: read from the release's API entry. A digest pins the image built for that release.
RELEASE_IMAGES = (
    "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5",
    "kindest/node:v1.36.4@sha256:099e049362a1526b2db71494e1947aae99bd16290d7c895f2b7ea312e3cbfaed",
    "kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0",
    "kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d",
)
#: Kubernetes minors past their end of life (kubernetes.io/releases: 1.34 ended 2026-10-27): never a lane's image
END_OF_LIFE = frozenset({"1.34"})
#: kube-proxy mode → the Kubernetes minors that run it (kind validates the mode: pkg/internal/apis/config/validate.go).
#: nftables: from 1.31 (kind docs), GA 1.33. ipvs: deprecated from 1.35 (KEP-5495: a warning in 1.35, the
#: KubeProxyIPVS feature gate from 1.37, default true; planned default false in 1.40, gone from 1.43): up to 1.39
#: without a gate setting.
MODE_MINORS = {"iptables": (0, 999), "nftables": (31, 999), "ipvs": (0, 39), "ipvs-nostrictarp": (0, 39),
               "kube-proxy-replacement": (0, 999)}


def image_minor(image: str) -> str:
    """``kindest/node:v1.37.0@sha256:…`` → ``1.37``."""
    version = image.split(":", 1)[1].split("@", 1)[0].lstrip("v")
    return ".".join(version.split(".")[:2])


def node_image(mode: str) -> str:
    """The newest node image of kind's release that runs kube-proxy ``mode`` and is not past its end of life."""
    low, high = MODE_MINORS[mode]
    for image in RELEASE_IMAGES:
        minor = image_minor(image)
        if minor not in END_OF_LIFE and low <= int(minor.split(".")[1]) <= high:
            return image
    raise ConfigError(f"kind {KIND_VERSION} publishes no supported node image that runs kube-proxy {mode}; "
                      f"give one with --kind-image")


#: one image per lane (today all Kubernetes 1.37: the newest kind v0.33.0 publishes, and it still runs IPVS)
NODE_IMAGES = {mode: node_image(mode) for mode in MODE_MINORS}
NODE_IMAGE = NODE_IMAGES["iptables"]  #: the default lane's image (an example in messages)
DEFAULT_KIND_SUBNET = ipaddress.IPv4Network("172.18.0.0/16")
#: a dual-stack cluster's IPv6 pod and service subnets, beside the notes' IPv4 ones: kind's own defaults for
#: ``ipFamily: dual`` (``pkg/internal/apis/config/default.go``: podSubnet "10.244.0.0/16,fd00:10:244::/56" — a /56
#: because each node takes a /64 —, serviceSubnet "10.96.0.0/16,fd00:10:96::/112"; ``site/content/docs/user/
#: configuration.md``, "Dual Stack clusters": kind 0.11+, Kubernetes 1.20+). kind's validate.go accepts two CIDRs,
#: one of each family, only with ipFamily dual.
POD_SUBNET6 = "fd00:10:244::/56"
SERVICE_SUBNET6 = "fd00:10:96::/112"
#: the first IPv6 VIP of pool block 0 on the kind network: ``<prefix>::ffff:ff00``, as the lab's (platforms/base.py
#: ``vip_pool6_from_top``); further blocks go down from there, far above the low host ids Docker hands out
VIP6_ANCHOR = 0xFFFF_FF00
#: why the negative control fails over IPv4 only (said by --plan on a dual-stack run)
NOSTRICTARP_V6 = ("ipvs-nostrictarp fails over IPv4 only: strictARP sets the IPv4 sysctls arp_ignore/arp_announce, "
                  "and over IPv6 Linux answers a Neighbor Solicitation only for an address on the interface it came in "
                  "on (net/ipv6/ndisc.c ndisc_recv_ns: ipv6_get_ifaddr(..., dev, 1)), so no node answers NDP for the "
                  "VIPs on kube-ipvs0; its IPv6 checks are expected to pass (read from the kernel source, not measured)")
KIND_MODES = implementations.KIND_MODES
KUBE_L2_MODES = implementations.KUBE_L2_MODES  #: with kube-proxy-replacement: ``kubeProxyMode: none``
CLIENTS = ("mypc", "mypc2")                 #: the notes' client containers
SLOT_LABEL = f"{labels.PREFIX}.kind-slot"   #: on a run's clients: its slot on the shared ``kind`` network
MAX_SLOTS = 16                               #: concurrent runs (or xdist workers) on one host
SLOT_LOCK = Path(tempfile.gettempdir()) / "lbconform-kind-slots.lock"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
#: a registry is a first component with a dot or a port, or localhost (else it is part of the name, lower-case)
_DOMAIN = rf"(?:{_LABEL}(?:\.{_LABEL})+(?::[0-9]{{1,5}})?|{_LABEL}:[0-9]{{1,5}}|localhost)/"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
#: a Docker image reference, strict: ``[registry[:port]/]name[/name…][:tag][@sha256:digest]`` (the grammar of
#: distribution/reference, without its rarely used forms); no spaces, no shell characters, no leading ``-``
IMAGE_REFERENCE = re.compile(
    rf"(?:{_DOMAIN})?{_COMPONENT}(?:/{_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?(?:@sha256:[0-9a-f]{{64}})?",
    re.ASCII)


def valid_image(reference: str) -> bool:
    """``reference`` is a Docker image reference :data:`IMAGE_REFERENCE` accepts (at most 512 characters)."""
    return len(reference) <= 512 and IMAGE_REFERENCE.fullmatch(reference) is not None


def kind_binary() -> str:
    """Path of ``kind`` on PATH, or a one-line error naming the install page."""
    path = shutil.which("kind")
    if path is None:
        raise ConfigError(f"--platform=kind needs the kind CLI on PATH and none was found; install it: {INSTALL_PAGE}")
    return path


def installed_version(binary: str) -> str | None:
    """``v0.33.0`` from ``kind version`` ("kind v0.33.0 go1.25.1 linux/amd64"), None when unreadable."""
    try:
        out = hostcmd.run([binary, "version"], "kind version", check=False, timeout=10).stdout
    except InfrastructureError:
        return None
    words = out.split()
    return words[1] if len(words) > 1 and words[0] == "kind" else None


def dual_stack(families: tuple[int, ...]) -> bool:
    """Whether a run judging IP ``families`` needs dual-stack clusters: any IPv6 does (the clients, the nodes' API
    addresses and the IPv4 lanes stay as they are; IPv4 checks are skipped by the families, not by the cluster)."""
    return 6 in families


def cluster_config(name: str, mode: str, disable_default_cni: bool = False, dual: bool = False) -> dict[str, Any]:
    """The kind Cluster config for data-plane ``mode``, from ``fixtures/kind/cluster.yaml``; ``kube-proxy-replacement``
    runs no kube-proxy, ``disable_default_cni`` no kindnet (the LB brings its own CNI); ``dual``: ``ipFamily: dual``
    with kind's IPv6 pod and service subnets after the IPv4 ones (IPv4 stays the primary family)."""
    if mode not in KUBE_L2_MODES:
        raise ConfigError(f"kind data-plane mode {mode!r} is not one of {', '.join(KUBE_L2_MODES)}")
    config: dict[str, Any] = yaml.safe_load((FIXTURES / "kind" / "cluster.yaml").read_text())
    config["name"] = name
    config["networking"]["kubeProxyMode"] = ("ipvs" if mode.startswith("ipvs") else
                                             "none" if mode == "kube-proxy-replacement" else mode)
    if disable_default_cni:
        config["networking"]["disableDefaultCNI"] = True
    if dual:
        networking = config["networking"]
        networking["ipFamily"] = "dual"
        networking["podSubnet"] = f"{networking['podSubnet']},{POD_SUBNET6}"
        networking["serviceSubnet"] = f"{networking['serviceSubnet']},{SERVICE_SUBNET6}"
    if mode == "ipvs":
        # MetalLB's installation docs: IPVS needs strictARP (arp_ignore=1, arp_announce=2 on nodes);
        # kind applies KubeProxyConfiguration patches from kubeadmConfigPatches
        config["kubeadmConfigPatches"] = ["kind: KubeProxyConfiguration\nipvs:\n  strictARP: true\n"]
    digest = config_hash(config)
    for node in config["nodes"]:
        node.setdefault("labels", {})[HASH_LABEL] = digest
    return config


def config_hash(config: dict[str, Any]) -> str:
    """A short hash of the config without the hash labels (so it is stable once labelled)."""
    clean = yaml.safe_load(yaml.safe_dump(config))
    for node in clean.get("nodes", []):
        (node.get("labels") or {}).pop(HASH_LABEL, None)
        if node.get("labels") == {}:
            node.pop("labels")
    return hashlib.sha256(yaml.safe_dump(clean, sort_keys=True).encode()).hexdigest()[:16]


def create_command(kind: str, name: str, config_path: Path, kubeconfig: Path, image: str | None = None,
                   wait: bool = True) -> list[str]:
    """``kind create cluster`` as kind's quick-start documents it, with an isolated kubeconfig; without ``wait`` for a
    cluster whose CNI comes later (its nodes are not Ready before the LB's install)."""
    cmd = [kind, "create", "cluster", "--name", name, "--config", str(config_path),
           "--kubeconfig", str(kubeconfig), *(["--wait", "5m"] if wait else [])]
    return [*cmd, "--image", image] if image else cmd


def delete_command(kind: str, name: str, kubeconfig: Path) -> list[str]:
    return [kind, "delete", "cluster", "--name", name, "--kubeconfig", str(kubeconfig)]


def export_logs_command(kind: str, name: str, directory: Path) -> list[str]:
    return [kind, "export", "logs", str(directory), "--name", name]


def load_image_command(kind: str, name: str, image: str) -> list[str]:
    """``kind load docker-image``: not used by the run any more. It runs ``docker save`` of every platform and
    ``ctr images import --all-platforms``, which fails with "content digest … not found" when the engine uses the
    containerd image store (the default from Docker 29) and only one platform of a multi-platform image is local
    (kubernetes-sigs/kind#3795; kind ``pkg/cluster/nodeutils/util.go`` ``LoadImageArchive``)."""
    return [kind, "load", "docker-image", image, "--name", name]


def load_archive_command(kind: str, name: str, archive: Path) -> list[str]:
    """Air-gapped hosts: copy an image archive (``docker save`` of the local platform) into every node."""
    return [kind, "load", "image-archive", str(archive), "--name", name]


def archive_name(image: str) -> str:
    """A file name for ``image``'s archive in the run's workdir (``traefik/whoami:v1.11.0`` →
    ``traefik_whoami_v1.11.0.tar``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", image) + ".tar"


def save_image_archive(client: docker.DockerClient, image: str, dest: Path) -> Path:
    """``docker save --platform <the local copy's platform>`` through the engine API into ``dest``: an archive of the
    one platform that is local, which ``kind load image-archive`` imports also with the containerd image store.
    (The engine API takes ``platform`` on ``/images/{name}/get`` from 1.48, Docker 28; older engines ignore it and
    save what they hold, which is one platform without the containerd store.)"""
    local = client.images.get(image)
    platform = {"os": local.attrs.get("Os") or "linux", "architecture": local.attrs.get("Architecture") or "amd64"}
    if local.attrs.get("Variant"):
        platform["variant"] = local.attrs["Variant"]
    api: Any = client.api  # the SDK's save has no platform argument: the same request with it
    partial = dest.with_name(dest.name + ".part")  # a save cut short never stands as the archive
    try:
        with contextlib.closing(api._get(api._url("/images/{0}/get", image), params={"platform": json.dumps(platform)},
                                         stream=True)) as response:
            api._raise_for_status(response)
            with open(partial, "wb") as out:
                for chunk in api._stream_raw_result(response, 2 * 1024 * 1024, False):
                    out.write(chunk)
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return dest


def get_clusters_command(kind: str) -> list[str]:
    return [kind, "get", "clusters"]


def export_kubeconfig_command(kind: str, name: str, kubeconfig: Path) -> list[str]:
    """Write an existing cluster's kubeconfig to its own file (for reuse), never ~/.kube/config."""
    return [kind, "export", "kubeconfig", "--name", name, "--kubeconfig", str(kubeconfig)]


def reusable_name(mode: str, worker: str = "") -> str:
    """Stable cluster name for --reuse-clusters (per xdist worker, so two workers never share one)."""
    return f"lbc-{worker + '-' if worker else ''}{mode}"


def reuse_verdict(name: str, found_hash: str | None, wanted_hash: str) -> str | None:
    """None when the existing cluster ``name`` may be reused; else the one-line reason it may not."""
    if found_hash == wanted_hash:
        return None
    return (f"kind cluster {name} exists with another configuration (config hash {found_hash or 'none'}, this run "
            f"needs {wanted_hash}); delete it with `kind delete cluster --name {name}` or run without --reuse-clusters")


def cluster_name(run_id: str, mode: str) -> str:
    """Unique per run (and xdist worker, via the run id), readable per mode; kind allows [a-z0-9-]."""
    return f"lbc-{run_id}-{mode}".lower().replace("_", "-")


def _kind_network_subnets(client: docker.DockerClient | None) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
    """Every subnet of the ``kind`` network, both families; None when there is no engine or no such network yet."""
    if client is None:
        return None
    try:
        net = client.networks.get(KIND_NETWORK)
    except docker.errors.NotFound:
        return None
    return [ipaddress.ip_network(cfg["Subnet"], strict=False)
            for cfg in (net.attrs.get("IPAM") or {}).get("Config") or [] if cfg.get("Subnet")]


def kind_subnet(client: docker.DockerClient | None) -> tuple[ipaddress.IPv4Network, bool]:
    """The IPv4 subnet of the ``kind`` network, and whether it was read (else kind's usual default)."""
    for subnet in _kind_network_subnets(client) or []:
        if isinstance(subnet, ipaddress.IPv4Network):
            return subnet, True
    return DEFAULT_KIND_SUBNET, False


def ula_subnet(name: str, attempt: int = 0) -> ipaddress.IPv6Network:
    """The IPv6 ULA /64 kind gives the docker network ``name`` on creation attempt ``attempt``: fc00::/8 with bytes
    2..7 of sha1(name + attempt as little-endian int32) (``generateULASubnetFromName`` in kind's
    ``pkg/cluster/internal/providers/docker/network.go``; ``fc00:f853:ccd:e793::/64`` for ``kind``, attempt 0). kind
    tries attempts 1..4 only when that pool overlaps another network."""
    digest = hashlib.sha1(name.encode() + struct.pack("<i", attempt)).digest()
    return ipaddress.IPv6Network((bytes([0xFC, 0x00]) + digest[2:8] + bytes(8), 64))


DEFAULT_KIND_SUBNET6 = ula_subnet(KIND_NETWORK)  #: the ``kind`` network's IPv6 subnet on a host where none is yet


def kind_subnet6(client: docker.DockerClient | None) -> tuple[ipaddress.IPv6Network | None, bool]:
    """The IPv6 subnet of the ``kind`` network and whether it was read: (None, True) when the network exists without
    one (kind makes it IPv4 only where Docker's IPv6 fails, and keeps a network made earlier as it is: network.go),
    (kind's ULA for ``kind``, False) when there is no network (or engine) to read yet."""
    subnets = _kind_network_subnets(client)
    if subnets is None:
        return DEFAULT_KIND_SUBNET6, False
    for subnet in subnets:
        if isinstance(subnet, ipaddress.IPv6Network):
            return subnet, True
    return None, True


def need_subnet6(subnet: ipaddress.IPv6Network | None) -> ipaddress.IPv6Network:
    """``subnet``, or the one-line reason a dual-stack lane cannot run on a ``kind`` network without IPv6."""
    if subnet is None:
        raise InfrastructureError(f"the docker network {KIND_NETWORK!r} has no IPv6 subnet, so a dual-stack kind "
                                  "cluster has no IPv6 segment for its VIPs (kind creates it IPv4-only where Docker's "
                                  "IPv6 is off, and never changes an existing one); with no kind cluster left, "
                                  f"`docker network rm {KIND_NETWORK}` lets kind create it again, or run "
                                  "--address-families=4")
    return subnet


def vip_pool6(subnet: ipaddress.IPv6Network, size: int, index: int = 0) -> tuple[str, str]:
    """First and last IPv6 address of pool block ``index`` (:func:`pool_index`, as the IPv4 block it pairs with):
    block 0 starts at ``<prefix>::ffff:ff00`` (:data:`VIP6_ANCHOR`), each further block is the next one down."""
    if subnet.prefixlen > 96:
        raise ConfigError(f"kind network IPv6 subnet {subnet} is too small for VIP pools (a /96 or larger is needed; "
                          f"kind makes a /64)")
    first = int(subnet.network_address) + VIP6_ANCHOR - index * size
    if first < int(subnet.network_address) + 0x10000:  # never among the low host ids Docker hands out
        raise ConfigError(f"kind network {subnet} cannot hold {index + 1} IPv6 VIP pools of {size}")
    return str(ipaddress.IPv6Address(first)), str(ipaddress.IPv6Address(first + size - 1))


@contextmanager
def slot_lock(path: Path = SLOT_LOCK) -> Iterator[None]:
    """Host-wide exclusive lock around choosing a slot and creating the clients that carry it."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def free_slot(client: docker.DockerClient) -> int:
    """The lowest slot no live run's client holds (call under :func:`slot_lock`)."""
    used = set()
    for container in client.containers.list(all=True, filters={"label": SLOT_LABEL}, ignore_removed=True):
        value = container.labels.get(SLOT_LABEL, "")
        if value.isdigit():
            used.add(int(value))
    free = [s for s in range(MAX_SLOTS) if s not in used]
    if not free:
        raise InfrastructureError(f"all {MAX_SLOTS} slots on the kind network are held by other runs' clients "
                                  f"(label {SLOT_LABEL}); wait for them or remove stale ones with "
                                  f"docker rm -f $(docker ps -aq -f label={SLOT_LABEL})")
    return free[0]


def pool_index(slot: int, mode_index: int, modes: int) -> int:
    """Which VIP pool block a cluster takes: one block per mode of the run, the run's blocks by slot."""
    return slot * modes + mode_index


def vip_pool(subnet: ipaddress.IPv4Network, size: int, index: int = 0) -> tuple[str, str]:
    """First and last address of pool block ``index`` (:func:`pool_index`), from the top of the subnet.

    Block 0 is 172.18.255.200-250 on kind's 172.18.0.0/16, as in the notes; every cluster of every run
    shares the one ``kind`` network, so each further block is the next one down and two MetalLBs never
    announce the same address. Docker assigns container addresses from the bottom of the subnet.
    """
    top = int(subnet.broadcast_address) - 5 - index * size
    first = top - size + 1
    if first <= int(subnet.network_address) + 255:
        raise ConfigError(f"kind network {subnet} is too small for {index + 1} VIP pools of {size}")
    return str(ipaddress.IPv4Address(first)), str(ipaddress.IPv4Address(top))


@dataclass
class KindCluster:
    """One kind cluster of this run."""

    name: str
    mode: str
    workdir: Path
    kind: str = field(default_factory=kind_binary)
    run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run
    disable_default_cni: bool = False  #: the LB brings its own CNI (a spec's kubernetes.cluster)
    dual: bool = False  #: ``ipFamily: dual`` (the run judges IPv6)

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / f"kubeconfig-{self.name}"

    @property
    def config(self) -> dict[str, Any]:
        return cluster_config(self.name, self.mode, self.disable_default_cni, self.dual)

    def exists(self) -> bool:
        out = self._kind(get_clusters_command(self.kind), "kind get clusters")
        return self.name in out.split()

    def create(self, image: str | None = None) -> None:
        path = self.workdir / f"kind-{self.name}.yaml"
        path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        self._kind(create_command(self.kind, self.name, path, self.kubeconfig, image, wait=not self.disable_default_cni),
                   f"creating kind cluster {self.name}")

    def export_kubeconfig(self) -> None:
        cmd = export_kubeconfig_command(self.kind, self.name, self.kubeconfig)
        self._kind(cmd, f"exporting the kubeconfig of {self.name}")

    def labelled_hash(self) -> str | None:
        """The config hash on the cluster's nodes (the label this project's configs put there)."""
        from kubernetes import client as k8s
        from kubernetes import config as k8s_config

        api_client = k8s_config.new_client_from_config(config_file=str(self.kubeconfig))  # type: ignore[no-untyped-call]
        api = k8s.CoreV1Api(api_client)
        hashes = {(n.metadata.labels or {}).get(HASH_LABEL) for n in api.list_node().items if n.metadata}
        return hashes.pop() if len(hashes) == 1 else None

    def delete(self) -> None:
        self._kind(delete_command(self.kind, self.name, self.kubeconfig), f"deleting kind cluster {self.name}")

    def export_logs(self, directory: Path) -> None:
        """``kind export logs`` into ``directory``, then make it readable by everyone: run as root, kind
        writes 0640 files, which upload-artifact (the runner user) cannot read."""
        try:
            self._kind(export_logs_command(self.kind, self.name, directory), f"exporting logs of {self.name}")
        finally:
            readable(directory)

    def load_image(self, image: str) -> None:
        self._kind(load_image_command(self.kind, self.name, image), f"loading {image} into {self.name}")

    def load_archive(self, archive: Path, image: str) -> None:
        self._kind(load_archive_command(self.kind, self.name, archive), f"loading {image} ({archive.name}) into {self.name}")

    def _kind(self, cmd: list[str], what: str) -> str:
        return hostcmd.run(cmd, what, runner=self.run).stdout


def nodes(client: docker.DockerClient, cluster: str) -> list[Host]:
    """The cluster's node containers, by kind's labels, with their addresses on the kind network (IPv6: Docker's
    ``GlobalIPv6Address``, empty where the network has none)."""
    found = []
    for container in client.containers.list(filters={"label": [f"{CLUSTER_LABEL}={cluster}"]}, ignore_removed=True):
        net = container.attrs["NetworkSettings"]["Networks"].get(KIND_NETWORK, {})
        role = container.labels.get(ROLE_LABEL, "worker")
        name = str(container.name)
        found.append(Host(name=name, role=role, ip=net.get("IPAddress", ""), mac=net.get("MacAddress", "").lower(),
                          short=name.removeprefix(f"{cluster}-"), ip6=net.get("GlobalIPv6Address") or ""))
    return sorted(found, key=lambda h: (h.role != "control-plane", h.name))


def readable(directory: Path) -> None:
    """Give everyone read access to ``directory``'s tree (directories also search); never follow symlinks."""
    if not directory.is_dir():
        return
    for root, dirs, files in os.walk(directory):
        for name in dirs:
            _add_mode(Path(root) / name, 0o555)
        for name in files:
            _add_mode(Path(root) / name, 0o444)
    _add_mode(directory, 0o555)


def _add_mode(path: Path, bits: int) -> None:
    if path.is_symlink():
        return
    with contextlib.suppress(OSError):  # not ours to change: leave it
        path.chmod(path.stat().st_mode | bits)
