"""The kind platform's Docker side, run for real against this machine's engine with a kind double.

``tests/kind_double/kind_double.py`` does at the Docker level what kind does (the ``kind`` network as kind
creates it, nodes with kind's names, labels, restart policy and tmpfs, a kubeconfig); the Kubernetes API
is a local HTTP server answering with the objects in ``tests/data/kind_api``. So this runs for real:
cluster creation through the ``kind`` CLI, client creation on the ``kind`` network (addresses from Docker,
a slot per run), node discovery by kind's labels, the faults (isolate, freeze, stop, partition) and their
undo, address/MAC refresh after a restart, log export and cleanup. It cannot show how kubelet, kube-proxy
or MetalLB behave: nothing Kubernetes runs in these nodes, and MetalLB's deployment is replaced by the
services and backends it would create.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import stat
import sys
import warnings
from pathlib import Path

import docker.errors
import pytest
from werkzeug import Response

from pytest_lbconform import labels, ownership, reaper
from pytest_lbconform.config import from_options
from pytest_lbconform.environment import KindEnvironment
from pytest_lbconform.errors import InfrastructureError
from pytest_lbconform.faults import fault
from pytest_lbconform.images import ensure_image
from pytest_lbconform.platforms import containers, kind
from pytest_lbconform.providers.base import Backend, Service
from pytest_lbconform.providers.metallb_kind import KindMetalLB
from pytest_lbconform.waiting import wait_for

pytestmark = pytest.mark.xdist_group("kind-double")
DOUBLE = Path(__file__).parent / "kind_double" / "kind_double.py"
DATA = Path(__file__).parent / "data" / "kind_api"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _fresh(name: str, stamp: str) -> Response:
    """A recorded object with its time fields set to now (a kubelet and speaker that came back)."""
    obj = json.loads((DATA / name).read_text())
    if obj.get("kind") == "Lease":
        obj["spec"]["renewTime"] = stamp
    for item in obj.get("items", []):
        for status in item.get("status", {}).get("containerStatuses", []):
            status["state"]["running"]["startedAt"] = stamp.split(".", 1)[0] + "Z"
    return Response(json.dumps(obj), content_type="application/json")


def _serve_node_back(httpserver) -> None:
    """The API of a node that came back: lease renewed now, Ready, speaker restarted now."""
    httpserver.expect_request(re.compile(r"^/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/.*")) \
        .respond_with_handler(lambda request: _fresh("lease_worker_after_restart.json", _now()))
    httpserver.expect_request("/api/v1/namespaces/metallb-system/pods") \
        .respond_with_handler(lambda request: _fresh("speakers_worker_after_restart.json", _now()))
    httpserver.expect_request(re.compile(r"^/api/v1/nodes/.*")).respond_with_json(
        json.loads((DATA / "node_worker_after_restart.json").read_text()))


def _deploy_without_kubernetes(self: KindMetalLB) -> None:
    """What deploy leaves behind, without Kubernetes: services on the pool, one backend per worker."""
    first = self.pool[0]
    base = int(first.split(".")[-1])
    prefix = first.rsplit(".", 1)[0]
    self.services = (Service("svc1", f"{prefix}.{base}", 80, "Cluster"),
                     Service("svc2", f"{prefix}.{base + 1}", 80, "Local"))
    self.backends = tuple(Backend(f"webpod{i}", w.short, f"10.10.{i}.5", 80)
                          for i, w in enumerate(self.topology.workers, start=1))


@pytest.fixture(scope="module")
def kind_on_path(tmp_path_factory, docker_client):
    bin_dir = tmp_path_factory.mktemp("bin")
    wrapper = bin_dir / "kind"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {DOUBLE} \"$@\"\n")
    wrapper.chmod(0o755)
    had_network = bool(docker_client.networks.list(names=[kind.KIND_NETWORK]))
    yield bin_dir
    if not had_network:  # the double made it (kind itself never removes it): remove it, once nothing is attached
        _remove_kind_network(docker_client)


def _remove_kind_network(client) -> None:
    """Remove the ``kind`` network the double created. A `kind` network left behind is restored by the next
    engine restart in a form that accepts static addresses, which made a later CI run differ from a fresh
    one; so wait (≤ 30 s) for endpoints still being torn down, and say what is attached if it stays."""
    def attempt() -> str:
        nets = client.networks.list(names=[kind.KIND_NETWORK])
        exact = [n for n in nets if n.name == kind.KIND_NETWORK]
        if not exact:
            return ""
        try:
            exact[0].remove()
        except docker.errors.NotFound:
            return ""
        except docker.errors.APIError as exc:
            exact[0].reload()
            attached = sorted(c["Name"] for c in (exact[0].attrs.get("Containers") or {}).values())
            return f"{exc.explanation}; attached: {attached}"
        return ""

    try:
        wait_for(attempt, lambda problem: not problem, budget=30, interval=0.5, what="the kind network removed")
    except InfrastructureError as exc:
        warnings.warn(f"the kind double's network stays: {exc}", stacklevel=1)


@pytest.fixture
def kind_env(kind_on_path, docker_client, httpserver, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{kind_on_path}{os.pathsep}{os.environ['PATH']}")
    image = ensure_image(docker_client, "auto", lambda m: None)
    monkeypatch.setenv("LBC_KIND_DOUBLE_IMAGE", image)
    monkeypatch.setenv("LBC_KIND_DOUBLE_API", httpserver.url_for("").rstrip("/"))
    monkeypatch.setattr(KindMetalLB, "deploy", _deploy_without_kubernetes)
    _serve_node_back(httpserver)
    cfg = from_options(tmp_path, lb="metallb", proxy_mode="iptables", report_dir=str(tmp_path / "reports"))
    env = KindEnvironment(cfg, docker_client, lambda m: None)
    try:
        env.setup()
        yield env
    finally:
        env.teardown(failed=False)


def _in_container(client, name: str, argv: list[str]) -> str:
    return containers.run(client.containers.get(name), argv, check=False).stdout.strip()


def test_the_kind_path_runs_on_the_engine_and_leaves_nothing(kind_env, docker_client):
    lb = kind_env.for_mode("iptables")
    cluster = lb.topology.cluster
    # nodes found by kind's labels, in kind's naming, with their address on the kind network
    assert [(n.short, n.role) for n in lb.topology.nodes] == [
        ("control-plane", "control-plane"), ("worker", "worker"), ("worker2", "worker"), ("worker3", "worker")]
    subnet = lb.topology.subnet
    assert all(n.ip and n.mac and ipaddress.IPv4Address(n.ip) in subnet for n in lb.topology.nodes)
    # clients attached with addresses Docker chose (a static IPv4 on kind's network is refused before 29.0.4),
    # distinct from the nodes', below the VIP pool, with this run's slot
    clients = lb.topology.clients
    assert [c.short for c in clients] == ["mypc", "mypc2"]
    addresses = {c.ip for c in clients} | {n.ip for n in lb.topology.nodes}
    assert len(addresses) == 6
    slot = docker_client.containers.get(clients[0].name).labels[kind.SLOT_LABEL]
    assert slot == str(kind_env.slot)
    pool_low = min(int(ipaddress.IPv4Address(s.vip)) for s in lb.services)
    assert all(int(ipaddress.IPv4Address(c.ip)) < pool_low for c in clients)
    # the kind network is kind's: masquerade on, IPv6 ULA from the name when the engine has IPv6
    net = docker_client.networks.get(kind.KIND_NETWORK)
    assert net.attrs["Options"]["com.docker.network.bridge.enable_ip_masquerade"] == "true"
    # the clients ask for no address: a static IPv4 on kind's automatic IPv4 subnet is refused by Docker before
    # 29.0.4 on a network created since the engine started (moby: validateNetworkingConfig, "user specified IP
    # address is supported only when connecting to networks with user configured subnets"); after an engine
    # restart the same network accepts it, so the code must not depend on either answer
    for client in clients:
        endpoint = docker_client.containers.get(client.name).attrs["NetworkSettings"]["Networks"][kind.KIND_NETWORK]
        assert not (endpoint.get("IPAMConfig") or {}).get("IPv4Address")
    # a client reaches a node over the kind network
    worker = lb.topology.node("worker")
    assert "1 received" in _in_container(docker_client, clients[0].name, ["ping", "-c", "1", "-W", "2", worker.ip])

    # faults, applied and undone for real
    with fault("node-isolate", worker, lb.infra, lb.provider):
        assert _in_container(docker_client, worker.name, ["cat", "/sys/class/net/eth0/carrier"]) == "0"
    assert _in_container(docker_client, worker.name, ["cat", "/sys/class/net/eth0/carrier"]) == "1"
    with fault("node-freeze", worker, lb.infra, lb.provider):
        assert docker_client.containers.get(worker.name).status == "paused"
    assert docker_client.containers.get(worker.name).status == "running"
    peer = lb.topology.node("worker2")
    with fault("peer-partition", worker, lb.infra, lb.provider):
        cut = _in_container(docker_client, worker.name, ["ping", "-c", "1", "-W", "1", peer.ip])
        client_ok = _in_container(docker_client, clients[0].name, ["ping", "-c", "1", "-W", "2", worker.ip])
    assert "0 received" in cut and "1 received" in client_ok
    assert "1 received" in _in_container(docker_client, worker.name, ["ping", "-c", "1", "-W", "2", peer.ip])
    with fault("node-stop", worker, lb.infra, lb.provider):
        assert docker_client.containers.get(worker.name).status == "exited"
    # the undo started the node and waited for it to be back in this boot (API double: lease renewed,
    # Ready, speaker restarted); the topology now holds what the node uses after the restart
    macs = lb.refresh_nodes()
    inside = _in_container(docker_client, worker.name, ["cat", "/sys/class/net/eth0/address"])
    assert macs["worker"] == inside.lower() == lb.topology.node("worker").mac
    inside_ip = _in_container(docker_client, worker.name, ["ip", "-4", "-o", "addr", "show", "eth0"]).split()[3]
    assert lb.topology.node("worker").ip == inside_ip.split("/")[0]

    kind_env.teardown(failed=True)  # logs exported readable, cluster and clients removed
    logs = kind_env.cfg.report_dir / "kind-logs" / cluster
    files = [p for p in logs.rglob("*") if p.is_file()]
    assert files and all(p.stat().st_mode & stat.S_IROTH for p in files)
    assert not docker_client.containers.list(all=True, filters={"label": f"{kind.CLUSTER_LABEL}={cluster}"})
    assert not docker_client.containers.list(all=True, filters={"label": f"{labels.RUN}={kind_env.run_id}"})


def test_two_runs_on_the_kind_network_get_different_slots_and_pools(kind_env, docker_client, tmp_path):
    lb = kind_env.for_mode("iptables")
    other_cfg = from_options(tmp_path, lb="metallb", proxy_mode="iptables", report_dir=str(tmp_path / "r2"))
    other = KindEnvironment(other_cfg, docker_client, lambda m: None)
    try:
        other.setup()
        lb2 = other.for_mode("iptables")
        assert other.slot != kind_env.slot
        vips = {s.vip for s in lb.services}
        assert not vips & {s.vip for s in lb2.services}
        assert not {c.ip for c in lb.topology.clients} & {c.ip for c in lb2.topology.clients}
    finally:
        other.teardown()


def test_an_export_that_fails_still_deletes_the_cluster(kind_env, docker_client, monkeypatch):
    lb = kind_env.for_mode("iptables")
    cluster = lb.topology.cluster

    def broken(self, directory):
        raise InfrastructureError(f"exporting logs of {self.name} failed (exit 1): disk full")

    monkeypatch.setattr(kind.KindCluster, "export_logs", broken)
    with pytest.raises(InfrastructureError, match="disk full"):
        kind_env.teardown(failed=True)
    assert not docker_client.containers.list(all=True, filters={"label": f"{kind.CLUSTER_LABEL}={cluster}"})
    assert not docker_client.containers.list(all=True, filters={"label": f"{labels.RUN}={kind_env.run_id}"})


def test_preloading_an_image_that_is_not_local_is_one_clear_error(kind_env, monkeypatch):
    """Nothing pulled it: kind load fails with "image not present locally" (here the pull fails: no registry)."""
    kind_env.cfg = kind_env.cfg.__class__(**{**kind_env.cfg.__dict__, "preload_images": True})
    with pytest.raises(InfrastructureError, match=r"--preload-images: pulling traefik/whoami:v1.11.0 failed|"
                                                  r"loading traefik/whoami:v1.11.0 into .* not present locally"):
        kind_env.for_mode("iptables")


def test_a_killed_runs_cluster_is_deleted_by_the_next_runs_reaper(kind_env, docker_client):
    """The marker volume made before ``kind create`` carries the run's token; once that run is provably over,
    the reaper deletes the cluster with ``kind delete cluster`` (the double on PATH) and then the marker."""
    cluster = kind_env.for_mode("iptables").topology.cluster
    marker = docker_client.volumes.get(reaper.marker_name(cluster))
    assert marker.attrs["Labels"][reaper.KIND_CLUSTER] == cluster
    assert marker.attrs["Labels"][ownership.OWNER] == ownership.me().token
    assert reaper.reap(docker_client).removed == []  # this run is alive: its cluster stays
    # the same cluster as a killed run would leave it: its marker names an owner that has ended
    me = ownership.me()
    dead = ownership.Owner(me.boot_id, me.pidns, me.pid, me.start - 1)  # this pid, but another (earlier) process
    marker.remove(force=True)
    docker_client.volumes.create(reaper.marker_name(cluster), labels={
        labels.RUN: "killed", ownership.OWNER: dead.token, reaper.KIND_CLUSTER: cluster})
    out = reaper.reap(docker_client)
    assert f"kind cluster {cluster}" in out.removed, out
    assert not docker_client.containers.list(all=True, filters={"label": f"{kind.CLUSTER_LABEL}={cluster}"})
    assert not docker_client.volumes.list(filters={"name": reaper.marker_name(cluster)})


def _with_backend(env: KindEnvironment, image: str) -> None:
    """Preload ``image`` (a local one: no registry here) as the backends' image."""
    spec = env.cfg.spec
    spec = spec.__class__(**{**spec.__dict__, "settings": {**spec.settings, "backend_image": image}})
    env.cfg = env.cfg.__class__(**{**env.cfg.__dict__, "preload_images": True, "spec": spec})


def test_kind_load_docker_image_fails_with_the_containerd_image_store_as_9a7e0c7_used_it(kind_env, docker_client,
                                                                                      monkeypatch):
    """The double reproduces kind on an engine with the containerd image store (Docker 29's default): the way
    9a7e0c7 preloaded, `kind load docker-image`, ends in "content digest … not found" (kubernetes-sigs/kind#3795)."""
    monkeypatch.setenv("LBC_KIND_DOUBLE_CONTAINERD_STORE", "1")
    image = ensure_image(docker_client, "auto", lambda m: None)
    lb = kind_env.for_mode("iptables")
    cluster = kind.KindCluster(lb.topology.cluster, "iptables", kind_env.workdir)
    with pytest.raises(InfrastructureError, match=r"content digest .*: not found"):
        cluster.load_image(image)


def test_preload_works_with_the_containerd_image_store_and_does_not_pull_a_local_image(kind_env, docker_client,
                                                                                       monkeypatch, tmp_path):
    """The preload saves the local image for its platform and loads the archive (`kind load image-archive`); the
    image is local, so nothing is pulled (this machine has no registry: a pull would fail the set-up)."""
    monkeypatch.setenv("LBC_KIND_DOUBLE_CONTAINERD_STORE", "1")
    log = tmp_path / "kind-loads.log"
    monkeypatch.setenv("LBC_KIND_DOUBLE_LOG", str(log))
    image = ensure_image(docker_client, "auto", lambda m: None)
    _with_backend(kind_env, image)
    lb = kind_env.for_mode("iptables")
    archive = kind_env.workdir / kind.archive_name(image)
    assert log.read_text().splitlines() == [f"image-archive {archive} {lb.topology.cluster}"]
    import tarfile

    with tarfile.open(archive) as tar:
        assert {"manifest.json", "index.json"} & set(tar.getnames())
