"""A `kind` stand-in for tests: what kind does at the Docker level, with the lab image as node image.

Put on PATH by ``tests/test_kind_double.py`` (through a small ``kind`` wrapper). It follows kind v0.32's
Docker provider (``pkg/cluster/internal/providers/docker/network.go`` and ``provision.go``):

- the ``kind`` network: bridge, ``com.docker.network.bridge.enable_ip_masquerade=true``, IPv6 on a ULA /64
  derived from the name by SHA-1 (IPv4 left to Docker's automatic allocation — which is why a static IPv4
  on it is refused by Docker before 29.0.4); without IPv6 support, a plain network, as kind falls back;
- nodes ``<cluster>-control-plane``, ``<cluster>-worker``, ``<cluster>-worker2`` …: labels
  ``io.x-k8s.kind.cluster`` / ``io.x-k8s.kind.role``, ``--restart=on-failure:1``, hostname = name,
  tmpfs on ``/tmp`` and ``/run``; they run ``sleep infinity`` instead of systemd and Kubernetes;
- ``--kubeconfig`` gets a kubeconfig whose server is ``$LBC_KIND_DOUBLE_API`` (the test's API double);
- ``export logs`` writes 0640 files, as kind run as root does; ``load docker-image`` refuses an image
  that is not present locally with kind's message; ``delete cluster`` removes the nodes, not the network;
- with ``LBC_KIND_DOUBLE_CONTAINERD_STORE=1`` the engine stands for one with the containerd image store (Docker 29's
  default): ``load docker-image`` fails as kind's ``ctr images import --all-platforms`` does there, "content digest
  … not found" (kubernetes-sigs/kind#3795); ``load image-archive`` of a ``docker save`` archive works either way;
- every ``load`` is appended to ``$LBC_KIND_DOUBLE_LOG`` when set, so a test sees what was loaded and how.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import os
import struct
import sys
import tarfile
from pathlib import Path

import docker
import docker.errors
import yaml

NETWORK = "kind"
CLUSTER_LABEL = "io.x-k8s.kind.cluster"
ROLE_LABEL = "io.x-k8s.kind.role"
VERSION = "kind v0.33.0-double go1.25 linux/amd64"


def ula_subnet(name: str, attempt: int = 0) -> str:
    """kind's generateULASubnetFromName: fc00: + bytes 2..7 of sha1(name + little-endian int32 attempt), /64."""
    digest = hashlib.sha1(name.encode() + struct.pack("<i", attempt)).digest()
    raw = bytes([0xFC, 0x00]) + digest[2:8] + bytes(8)
    return str(ipaddress.IPv6Network((raw, 64)))


def ensure_network(client: docker.DockerClient) -> None:
    if client.networks.list(names=[NETWORK]):
        return
    options = {"com.docker.network.bridge.enable_ip_masquerade": "true"}
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=ula_subnet(NETWORK))])
    try:
        client.networks.create(NETWORK, driver="bridge", options=options, enable_ipv6=True, ipam=ipam)
    except docker.errors.APIError:  # no IPv6 on this engine: kind falls back to a plain network
        client.networks.create(NETWORK, driver="bridge", options=options)


def node_names(cluster: str, roles: list[str]) -> list[tuple[str, str]]:
    """kind's naming: <cluster>-control-plane, <cluster>-worker, <cluster>-worker2, …"""
    out, counts = [], {"control-plane": 0, "worker": 0}
    for role in roles:
        counts[role] += 1
        suffix = "" if counts[role] == 1 else str(counts[role])
        out.append((f"{cluster}-{role}{suffix}", role))
    return out


def create(args: argparse.Namespace, client: docker.DockerClient) -> int:
    config = yaml.safe_load(Path(args.config).read_text()) if args.config else {"nodes": [{"role": "control-plane"}]}
    if [c for c in client.containers.list(all=True, filters={"label": f"{CLUSTER_LABEL}={args.name}"})]:
        print(f'ERROR: failed to create cluster: node(s) already exist for a cluster with the name "{args.name}"',
              file=sys.stderr)
        return 1
    ensure_network(client)
    image = os.environ["LBC_KIND_DOUBLE_IMAGE"]
    for name, role in node_names(args.name, [n["role"] for n in config["nodes"]]):
        client.containers.run(
            image, ["sleep", "infinity"], name=name, hostname=name, detach=True, network=NETWORK,
            labels={CLUSTER_LABEL: args.name, ROLE_LABEL: role}, restart_policy={"Name": "on-failure",
                                                                                "MaximumRetryCount": 1},
            tmpfs={"/tmp": "", "/run": ""}, cap_add=["NET_ADMIN", "NET_RAW"], init=True,
            sysctls={"net.ipv4.ip_forward": "1"})
    kubeconfig = Path(args.kubeconfig)
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": f"kind-{args.name}",
        "clusters": [{"name": f"kind-{args.name}", "cluster": {"server": os.environ["LBC_KIND_DOUBLE_API"]}}],
        "contexts": [{"name": f"kind-{args.name}", "context": {"cluster": f"kind-{args.name}",
                                                               "user": f"kind-{args.name}"}}],
        "users": [{"name": f"kind-{args.name}", "user": {"token": "double"}}]}))
    kubeconfig.chmod(0o600)
    return 0


def delete(args: argparse.Namespace, client: docker.DockerClient) -> int:
    for container in client.containers.list(all=True, filters={"label": f"{CLUSTER_LABEL}={args.name}"},
                                            ignore_removed=True):
        container.remove(force=True)
    return 0


def clusters(client: docker.DockerClient) -> set[str]:
    return {c.labels[CLUSTER_LABEL] for c in client.containers.list(all=True, filters={"label": CLUSTER_LABEL},
                                                                     ignore_removed=True)}


def export_logs(args: argparse.Namespace, client: docker.DockerClient) -> int:
    if args.name not in clusters(client):
        print(f'ERROR: unknown cluster "{args.name}"', file=sys.stderr)
        return 1
    for container in client.containers.list(filters={"label": f"{CLUSTER_LABEL}={args.name}"}):
        directory = Path(args.dir) / container.name
        directory.mkdir(parents=True, exist_ok=True)
        log = directory / "kubelet.log"
        log.write_text(f"kubelet log of {container.name} (kind double)\n")
        log.chmod(0o640)
        directory.chmod(0o750)
    Path(args.dir).chmod(0o750)
    return 0


def _logged(line: str) -> None:
    if os.environ.get("LBC_KIND_DOUBLE_LOG"):
        with open(os.environ["LBC_KIND_DOUBLE_LOG"], "a", encoding="utf-8") as log:
            log.write(line + "\n")


def load_image(args: argparse.Namespace, client: docker.DockerClient) -> int:
    try:
        image = client.images.get(args.image)
    except docker.errors.ImageNotFound:
        print(f'ERROR: image: "{args.image}" not present locally', file=sys.stderr)
        return 1
    if os.environ.get("LBC_KIND_DOUBLE_CONTAINERD_STORE") == "1":
        node = f"{args.name}-control-plane"
        digest = (image.attrs.get("RepoDigests") or [f"x@{image.id}"])[0].split("@", 1)[1]
        print(f'ERROR: failed to load image: command "docker exec --privileged -i {node} ctr --namespace=k8s.io '
              f'images import --all-platforms --digests --snapshotter=overlayfs -" failed with error: exit status 1\n'
              f"Command Output: ctr: content digest {digest}: not found", file=sys.stderr)
        return 1
    _logged(f"docker-image {args.image} {args.name}")
    return 0


def load_archive(args: argparse.Namespace) -> int:
    """``kind load image-archive``: a ``docker save`` archive (manifest.json or an OCI index.json inside)."""
    try:
        with tarfile.open(args.archive) as tar:
            names = set(tar.getnames())
    except (OSError, tarfile.TarError) as exc:
        print(f"ERROR: failed to load image archive {args.archive}: {exc}", file=sys.stderr)
        return 1
    if not names & {"manifest.json", "index.json"}:
        print(f"ERROR: failed to load image archive {args.archive}: not an image archive", file=sys.stderr)
        return 1
    _logged(f"image-archive {args.archive} {args.name}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="kind")
    sub = parser.add_subparsers(dest="verb", required=True)
    sub.add_parser("version")
    for verb in ("create", "delete", "get", "export", "load"):
        p = sub.add_parser(verb)
        p.add_argument("what")
        p.add_argument("rest", nargs="*")
        p.add_argument("--name", default="kind")
        p.add_argument("--config")
        p.add_argument("--kubeconfig")
        p.add_argument("--wait")
        p.add_argument("--image")
    args = parser.parse_args(argv)
    if args.verb == "version":
        print(VERSION)
        return 0
    client = docker.from_env()
    match (args.verb, args.what):
        case ("create", "cluster"):
            return create(args, client)
        case ("delete", "cluster"):
            return delete(args, client)
        case ("get", "clusters"):
            print("\n".join(sorted(clusters(client))))
            return 0
        case ("export", "logs"):
            args.dir = args.rest[0] if args.rest else "."
            return export_logs(args, client)
        case ("load", "docker-image"):
            args.image = args.rest[0]
            return load_image(args, client)
        case ("load", "image-archive"):
            args.archive = args.rest[0]
            return load_archive(args)
    print(f"ERROR: the kind double does not do `kind {args.verb} {args.what}`", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
