"""The kind platform: one cluster per kube-proxy mode, built exactly to kind's documentation.

- the ``kind`` CLI on PATH (never a downloaded, pinned binary: those go stale with kubeadm);
- an isolated kubeconfig per cluster (``--kubeconfig``; ~/.kube/config is never touched);
- nodes found by kind's labels ``io.x-k8s.kind.cluster`` / ``io.x-k8s.kind.role``;
- a kept cluster is reused only when its config hash (a node label) matches;
- the client containers join kind's fixed ``kind`` docker network at .100 and .200.

Verified here by contract tests (configs, command lines, parsing); not run end to end on this
project's machine, which cannot pull kind's node image.
"""

from __future__ import annotations

import hashlib
import ipaddress
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import yaml

from ..errors import ConfigError, InfrastructureError
from ..paths import FIXTURES
from .base import Host

KIND_NETWORK = "kind"                       #: kind's fixed docker network name
CLUSTER_LABEL = "io.x-k8s.kind.cluster"
ROLE_LABEL = "io.x-k8s.kind.role"
HASH_LABEL = "lbconform.io/config-hash"     #: Kubernetes node label carrying the config hash
INSTALL_PAGE = "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
DEFAULT_KIND_SUBNET = ipaddress.IPv4Network("172.18.0.0/16")
KIND_MODES = ("iptables", "ipvs", "nftables", "ipvs-nostrictarp")


def kind_binary() -> str:
    """Path of ``kind`` on PATH, or a one-line error naming the install page."""
    path = shutil.which("kind")
    if path is None:
        raise ConfigError(f"--platform=kind needs the kind CLI on PATH and none was found; install it: {INSTALL_PAGE}")
    return path


def cluster_config(name: str, mode: str) -> dict[str, Any]:
    """The kind Cluster config for data-plane ``mode``, from ``fixtures/kind/cluster.yaml``."""
    if mode not in KIND_MODES:
        raise ConfigError(f"kind data-plane mode {mode!r} is not one of {', '.join(KIND_MODES)}")
    config: dict[str, Any] = yaml.safe_load((FIXTURES / "kind" / "cluster.yaml").read_text())
    config["name"] = name
    config["networking"]["kubeProxyMode"] = "ipvs" if mode.startswith("ipvs") else mode
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


def create_command(kind: str, name: str, config_path: Path, kubeconfig: Path, image: str | None = None) -> list[str]:
    """``kind create cluster`` as kind's quick-start documents it, with an isolated kubeconfig."""
    cmd = [kind, "create", "cluster", "--name", name, "--config", str(config_path),
           "--kubeconfig", str(kubeconfig), "--wait", "5m"]
    return [*cmd, "--image", image] if image else cmd


def delete_command(kind: str, name: str, kubeconfig: Path) -> list[str]:
    return [kind, "delete", "cluster", "--name", name, "--kubeconfig", str(kubeconfig)]


def export_logs_command(kind: str, name: str, directory: Path) -> list[str]:
    return [kind, "export", "logs", str(directory), "--name", name]


def load_image_command(kind: str, name: str, image: str) -> list[str]:
    """Air-gapped hosts: copy a local image into every node (``kind load docker-image``)."""
    return [kind, "load", "docker-image", image, "--name", name]


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


def kind_subnet(client: docker.DockerClient | None) -> tuple[ipaddress.IPv4Network, bool]:
    """The IPv4 subnet of the ``kind`` network, and whether it was read (else kind's usual default)."""
    if client is not None:
        try:
            net = client.networks.get(KIND_NETWORK)
        except docker.errors.NotFound:
            return DEFAULT_KIND_SUBNET, False
        for cfg in (net.attrs.get("IPAM") or {}).get("Config") or []:
            subnet = ipaddress.ip_network(cfg.get("Subnet", "::/0"), strict=False)
            if isinstance(subnet, ipaddress.IPv4Network):
                return subnet, True
    return DEFAULT_KIND_SUBNET, False


def client_addresses(subnet: ipaddress.IPv4Network) -> dict[str, str]:
    """mypc at .100 and mypc2 at .200 of the kind subnet (172.18.0.100/.200 as in the notes)."""
    return {"mypc": str(subnet.network_address + 100), "mypc2": str(subnet.network_address + 200)}


def vip_pool(subnet: ipaddress.IPv4Network, size: int, index: int = 0) -> tuple[str, str]:
    """First and last address of the pool of the ``index``-th cluster of a run, from the top of the subnet.

    Index 0 is 172.18.255.200-250 on kind's 172.18.0.0/16, as in the notes; every cluster of a run
    shares the one ``kind`` network, so each further cluster takes the next block down and two
    MetalLBs never announce the same address.
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

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / f"kubeconfig-{self.name}"

    @property
    def config(self) -> dict[str, Any]:
        return cluster_config(self.name, self.mode)

    def exists(self) -> bool:
        out = self._kind(get_clusters_command(self.kind), "kind get clusters")
        return self.name in out.split()

    def create(self, image: str | None = None) -> None:
        path = self.workdir / f"kind-{self.name}.yaml"
        path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        self._kind(create_command(self.kind, self.name, path, self.kubeconfig, image), f"creating kind cluster {self.name}")

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
        self._kind(export_logs_command(self.kind, self.name, directory), f"exporting logs of {self.name}")

    def load_image(self, image: str) -> None:
        self._kind(load_image_command(self.kind, self.name, image), f"loading {image} into {self.name}")

    def _kind(self, cmd: list[str], what: str) -> str:
        proc = self.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
            raise InfrastructureError(f"{what} failed (exit {proc.returncode}): {tail}")
        return proc.stdout


def nodes(client: docker.DockerClient, cluster: str) -> list[Host]:
    """The cluster's node containers, by kind's labels, with their address on the kind network."""
    found = []
    for container in client.containers.list(filters={"label": [f"{CLUSTER_LABEL}={cluster}"]}, ignore_removed=True):
        net = container.attrs["NetworkSettings"]["Networks"].get(KIND_NETWORK, {})
        role = container.labels.get(ROLE_LABEL, "worker")
        name = str(container.name)
        found.append(Host(name=name, role=role, ip=net.get("IPAddress", ""), mac=net.get("MacAddress", "").lower(),
                          short=name.removeprefix(f"{cluster}-")))
    return sorted(found, key=lambda h: (h.role != "control-plane", h.name))
