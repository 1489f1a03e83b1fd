"""The kind platform and MetalLB provider, checked without kind: configs, command lines, manifests
(kubernetes-validate --strict), and parsing of real MetalLB/Kubernetes output shapes from the notes.

kind cannot run on this project's machine; these are contract tests, not an end-to-end run.
"""

import dataclasses
import ipaddress
import json
import re
from pathlib import Path
from types import SimpleNamespace

import kubernetes_validate
import pytest
import yaml

from pytest_lbconform.config import from_options
from pytest_lbconform.errors import ConfigError, InfrastructureError
from pytest_lbconform.platforms import kind
from pytest_lbconform.providers import metallb
from pytest_lbconform.providers.spec import builtin_specs

DATA = Path(__file__).parent / "data"
SPEC = builtin_specs()["metallb"]
K8S = str(SPEC.settings["kubernetes_version"])
KIND_SUBNET = ipaddress.IPv4Network("172.18.0.0/16")


# -- kind cluster configs ---------------------------------------------------------------------
@pytest.mark.parametrize("mode", kind.KIND_MODES)
def test_cluster_has_the_notes_topology(mode):
    config = kind.cluster_config("lbc-x-" + mode, mode)
    assert (config["kind"], config["apiVersion"]) == ("Cluster", "kind.x-k8s.io/v1alpha4")
    assert [n["role"] for n in config["nodes"]] == ["control-plane", "worker", "worker", "worker"]
    assert config["networking"]["podSubnet"] == "10.10.0.0/16"
    assert config["networking"]["serviceSubnet"] == "10.200.1.0/24"
    assert config["networking"]["kubeProxyMode"] in ("iptables", "ipvs", "nftables")


def test_ipvs_gets_strict_arp_through_a_kube_proxy_patch():
    config = kind.cluster_config("c", "ipvs")
    assert config["networking"]["kubeProxyMode"] == "ipvs"
    patch = yaml.safe_load(config["kubeadmConfigPatches"][0])
    assert patch == {"kind": "KubeProxyConfiguration", "ipvs": {"strictARP": True}}


def test_the_negative_control_is_ipvs_without_strict_arp():
    config = kind.cluster_config("c", "ipvs-nostrictarp")
    assert config["networking"]["kubeProxyMode"] == "ipvs" and "kubeadmConfigPatches" not in config


def test_networking_matches_the_kind_config_of_the_notes():
    """The notes' IPVS cluster file (kind-svc-2w-ipvs.yaml) and ours agree on what the suites depend on."""
    notes = yaml.safe_load((DATA / "kans_kind_svc_2w_ipvs.yaml").read_text())
    ours = kind.cluster_config("myk8s", "ipvs")
    assert ours["networking"] == {k: notes["networking"][k] for k in ours["networking"]}
    notes_patch = yaml.safe_load(notes["nodes"][0]["kubeadmConfigPatches"][1])
    assert notes_patch["ipvs"] == yaml.safe_load(ours["kubeadmConfigPatches"][0])["ipvs"]
    assert [n["role"] for n in notes["nodes"]] == [n["role"] for n in ours["nodes"]]


def test_config_hash_is_stable_and_changes_with_the_mode():
    a, b = kind.cluster_config("c", "iptables"), kind.cluster_config("c", "iptables")
    assert a["nodes"][0]["labels"][kind.HASH_LABEL] == b["nodes"][0]["labels"][kind.HASH_LABEL]
    assert kind.config_hash(a) == a["nodes"][0]["labels"][kind.HASH_LABEL]
    assert kind.config_hash(a) != kind.config_hash(kind.cluster_config("c", "ipvs"))


def test_unknown_kind_mode_is_one_line():
    with pytest.raises(ConfigError, match="iptables, ipvs, nftables, ipvs-nostrictarp"):
        kind.cluster_config("c", "userspace")


# -- command lines ----------------------------------------------------------------------------
def test_command_lines_are_kinds_documented_ones(tmp_path):
    kc, cfg = tmp_path / "kubeconfig", tmp_path / "kind.yaml"
    assert kind.create_command("kind", "lbc-1-ipvs", cfg, kc) == [
        "kind", "create", "cluster", "--name", "lbc-1-ipvs", "--config", str(cfg), "--kubeconfig", str(kc), "--wait", "5m"]
    assert kind.create_command("kind", "n", cfg, kc, "kindest/node:v1.31.0")[-2:] == ["--image", "kindest/node:v1.31.0"]
    assert kind.delete_command("kind", "n", kc) == ["kind", "delete", "cluster", "--name", "n", "--kubeconfig", str(kc)]
    assert kind.export_logs_command("kind", "n", tmp_path) == ["kind", "export", "logs", str(tmp_path), "--name", "n"]
    assert kind.load_image_command("kind", "n", "traefik/whoami") == [
        "kind", "load", "docker-image", "traefik/whoami", "--name", "n"]


def test_cluster_names_are_unique_per_run_and_valid_for_kind():
    name = kind.cluster_name("a1b2c3gw1", "ipvs-nostrictarp")
    assert name == "lbc-a1b2c3gw1-ipvs-nostrictarp" and re.fullmatch(r"[a-z0-9-]+", name)


def test_kind_cluster_runs_commands_and_reports_failures(tmp_path):
    calls = []

    class Proc:
        def __init__(self, rc, out="", err=""):
            self.returncode, self.stdout, self.stderr = rc, out, err

    def fake(cmd, **kw):
        calls.append(cmd)
        return Proc(0, "other\nlbc-1-ipvs\n") if cmd[1] == "get" else Proc(1, err="ERROR: failed to create cluster: boom")

    cluster = kind.KindCluster("lbc-1-ipvs", "ipvs", tmp_path, kind="/usr/bin/kind", run=fake)
    assert cluster.exists()
    with pytest.raises(InfrastructureError, match=r"creating kind cluster lbc-1-ipvs failed .*boom"):
        cluster.create()
    written = yaml.safe_load((tmp_path / "kind-lbc-1-ipvs.yaml").read_text())
    assert written["networking"]["kubeProxyMode"] == "ipvs" and calls[-1][:3] == ["/usr/bin/kind", "create", "cluster"]


def test_missing_kind_is_one_line_naming_the_install_page(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ConfigError) as err:
        kind.kind_binary()
    assert kind.INSTALL_PAGE in str(err.value) and "\n" not in str(err.value)


# -- addresses ---------------------------------------------------------------------------------
def test_the_first_pool_matches_the_notes_on_kinds_default_network():
    assert kind.vip_pool(KIND_SUBNET, 51, kind.pool_index(0, 0, 2)) == ("172.18.255.200", "172.18.255.250")


def test_every_cluster_of_every_slot_gets_its_own_pool_above_dockers_addresses():
    """Runs and xdist workers share the one kind network: each slot's pools are disjoint from every other's."""
    modes = 4
    pools = [kind.vip_pool(KIND_SUBNET, 51, kind.pool_index(slot, m, modes))
             for slot in range(kind.MAX_SLOTS) for m in range(modes)]
    ranges = [(int(ipaddress.IPv4Address(a)), int(ipaddress.IPv4Address(b))) for a, b in pools]
    assert all(hi < lo2 or hi2 < lo for i, (lo, hi) in enumerate(ranges) for (lo2, hi2) in ranges[i + 1:])
    assert min(lo for lo, _ in ranges) > int(KIND_SUBNET.network_address) + 255  # Docker assigns from the bottom


def test_kind_version_is_read_from_its_output(tmp_path):
    fake = tmp_path / "kind"
    fake.write_text("#!/bin/sh\necho 'kind v0.33.0 go1.25.1 linux/amd64'\n")
    fake.chmod(0o755)
    assert kind.installed_version(str(fake)) == "v0.33.0"
    assert kind.installed_version(str(tmp_path / "missing")) is None


@pytest.mark.parametrize("mode", kind.KIND_MODES)
def test_each_lane_runs_the_newest_supported_node_image_of_the_kind_release_pinned_by_digest(mode):
    """A tag alone may point at an image built for another kind release. 9a7e0c7 ran every lane on 1.34, past its end
    of life (2026-10-27): now each lane takes the newest image of kind v0.33.0 that runs its mode (IPVS runs up to 1.39,
    nftables from 1.31), never one past its end of life."""
    image = kind.NODE_IMAGES[mode]
    repo, digest = image.split("@")
    assert repo.startswith("kindest/node:v1.") and re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    assert image in kind.RELEASE_IMAGES and kind.image_minor(image) not in kind.END_OF_LIFE
    newer = kind.RELEASE_IMAGES[:kind.RELEASE_IMAGES.index(image)]
    low, high = kind.MODE_MINORS[mode]
    assert not [i for i in newer if low <= int(kind.image_minor(i).split(".")[1]) <= high]
    assert image == "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"


def test_the_ipvs_lanes_report_says_ipvs_is_deprecated_upstream(tmp_path):
    from pytest_lbconform.plugin import run_environment

    env = run_environment(from_options(tmp_path, lb="metallb", plan=True))
    assert env["modes"] == "iptables,nftables,ipvs"
    assert env["mode_notes"].startswith("ipvs: kube-proxy's IPVS mode is deprecated upstream (KEP-5495)")
    assert "ipvs=kindest/node:v1.37.0@sha256:" in env["node_images"]
    assert "mode_notes" not in run_environment(from_options(tmp_path, lb="metallb", proxy_mode="nftables", plan=True))


# -- manifests ---------------------------------------------------------------------------------
def core_objects():
    return [*metallb.backend_pods(["c-worker", "c-worker2", "c-worker3"]), *metallb.services(),
            metallb.allocation_service("alloc", requested_ip="172.18.255.210", sharing_key="k", port=8080, spec=SPEC)]


@pytest.mark.parametrize("obj", core_objects(), ids=lambda o: f"{o['kind']}-{o['metadata']['name']}")
def test_core_manifests_validate_strictly(obj):
    kubernetes_validate.validate(obj, K8S, strict=True)


def test_services_carry_the_scenarios_policies():
    by_name = {s["metadata"]["name"]: s["spec"] for s in metallb.services()}
    assert by_name["svc1"]["externalTrafficPolicy"] == "Cluster"
    assert by_name["svc2"]["externalTrafficPolicy"] == "Local"
    assert by_name["svc3"]["sessionAffinity"] == "ClientIP"
    assert all(s["type"] == "LoadBalancer" for s in by_name.values())


def test_backends_are_pinned_one_per_worker():
    pods = metallb.backend_pods(["c-worker", "c-worker2", "c-worker3"])
    assert [(p["metadata"]["name"], p["spec"]["nodeName"]) for p in pods] == [
        ("webpod1", "c-worker"), ("webpod2", "c-worker2"), ("webpod3", "c-worker3")]
    image = metallb.backend_image(SPEC)
    assert image == SPEC.settings["backend_image"] and image.rsplit(":", 1)[1].startswith("v")
    pods = metallb.backend_pods(["c-worker", "c-worker2", "c-worker3"], image)
    assert all(p["spec"]["containers"][0]["image"] == image for p in pods)


def test_backends_use_a_preloaded_image_instead_of_pulling_it_again():
    """An untagged image defaults to imagePullPolicy Always, which ignores what kind load put on the nodes."""
    for pod in metallb.backend_pods(["c-worker"], metallb.backend_image(SPEC)):
        container = pod["spec"]["containers"][0]
        assert container["imagePullPolicy"] == "IfNotPresent" and ":" in container["image"]


@pytest.mark.parametrize("image", ["traefik/whoami", "traefik/whoami:latest", "registry:5000/whoami"])
def test_an_unpinned_backend_image_is_refused(image):
    spec = dataclasses.replace(SPEC, settings={**SPEC.settings, "backend_image": image})
    with pytest.raises(ConfigError, match="must be pinned by tag or digest"):
        metallb.backend_image(spec)


def test_metallb_objects_have_the_shape_of_the_notes():
    pool, advert = metallb.l2_objects("172.18.255.200", "172.18.255.250")
    assert (pool["apiVersion"], pool["kind"]) == ("metallb.io/v1beta1", "IPAddressPool")
    assert pool["spec"]["addresses"] == ["172.18.255.200-172.18.255.250"]  # the notes' my-ippool range
    assert advert["kind"] == "L2Advertisement" and advert["spec"]["ipAddressPools"] == [pool["metadata"]["name"]]
    assert pool["metadata"]["namespace"] == advert["metadata"]["namespace"] == "metallb-system"


def test_allocation_service_uses_metallbs_annotations():
    svc = metallb.allocation_service("a", requested_ip="172.18.255.210", sharing_key="shared", spec=SPEC)
    assert svc["metadata"]["annotations"] == {"metallb.io/loadBalancerIPs": "172.18.255.210",
                                              "metallb.io/allow-shared-ip": "shared"}


def test_manifest_url_is_the_official_release_of_the_pinned_version(monkeypatch):
    assert metallb.manifest_url(SPEC) == (
        f"https://raw.githubusercontent.com/metallb/metallb/{SPEC.kubernetes.install.version}/config/manifests/metallb-native.yaml")
    monkeypatch.setenv("LBCONFORM_METALLB_VERSION", "v0.15.0")
    assert "/v0.15.0/" in metallb.manifest_url(SPEC)


# -- parsing real output shapes ----------------------------------------------------------------
def test_owner_from_servicel2status_of_the_notes_collapses_duplicates():
    items = json.loads((DATA / "kans_servicel2status.json").read_text())["items"]
    owners = metallb.owners_from_l2status(items)
    assert {k: v.node for k, v in owners.items()} == {"svc1": "myk8s-worker", "svc2": "myk8s-worker",
                                                      "svc3": "myk8s-worker3"}


def test_two_nodes_in_servicel2status_are_reported_not_hidden():
    items = json.loads((DATA / "kans_servicel2status.json").read_text())["items"]
    items[2]["status"]["node"] = "myk8s-worker2"  # a split as MetalLB itself would report it: each
    items[2]["metadata"]["labels"]["metallb.io/node"] = "myk8s-worker2"  # speaker writes its own object
    ann = metallb.owners_from_l2status(items)["svc3"]
    assert ann.nodes == ("myk8s-worker2", "myk8s-worker3") and ann.node is None


def test_owner_from_the_notes_events():
    events = json.loads((DATA / "kans_svc3_events.json").read_text())["items"]
    ann = metallb.owner_from_events("svc3", events)
    assert ann is not None and ann.node == "myk8s-worker3" and ann.source == "events"
    assert metallb.owner_from_events("svc3", events[:1]) is None


def test_ingress_ip_of_a_service_status():
    assert metallb.ingress_ip({"status": {"loadBalancer": {"ingress": [{"ip": "172.18.255.200", "ipMode": "VIP"}]}}}) \
        == "172.18.255.200"
    assert metallb.ingress_ip({"status": {"loadBalancer": {}}}) is None


def test_allocation_failure_reason_from_events():
    events = [{"reason": "AllocationFailed", "message": 'Failed to allocate IP for "default/x": no available IPs'}]
    assert "no available IPs" in metallb.allocation_failure(events)


# -- configuration ----------------------------------------------------------------------------
def test_metallb_defaults_to_kind_with_the_iptables_nftables_and_ipvs_lanes(monkeypatch, tmp_path):
    (tmp_path / "kind").write_text("#!/bin/sh\n")
    (tmp_path / "kind").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    cfg = from_options(Path("/r"), lb="metallb")
    assert (cfg.platform, cfg.modes) == ("kind", ("iptables", "nftables", "ipvs"))
    assert from_options(Path("/r"), lb="metallb", proxy_mode="ipvs-nostrictarp").modes == ("ipvs-nostrictarp",)


def test_pod_gateway_is_the_source_the_notes_show_under_cluster():
    assert metallb.pod_gateway("10.10.1.0/24") == "10.10.1.1"  # RemoteAddr: 10.10.1.1:12625 in the notes
    assert metallb.pod_gateway(None) is None


def test_reuse_is_allowed_only_when_the_config_hash_matches(tmp_path):
    want = kind.config_hash(kind.cluster_config("lbc-ipvs", "ipvs"))
    assert kind.reuse_verdict("lbc-ipvs", want, want) is None
    reason = kind.reuse_verdict("lbc-ipvs", "0123", want)
    assert "kind delete cluster --name lbc-ipvs" in reason and "\n" not in reason
    assert "config hash none" in kind.reuse_verdict("lbc-ipvs", None, want)
    assert kind.reusable_name("ipvs") == "lbc-ipvs" and kind.reusable_name("ipvs", "gw1") == "lbc-gw1-ipvs"
    assert kind.export_kubeconfig_command("kind", "lbc-ipvs", tmp_path / "kc") == [
        "kind", "export", "kubeconfig", "--name", "lbc-ipvs", "--kubeconfig", str(tmp_path / "kc")]


class _FakeEngine:
    """What ``_preload`` asks of the engine: the image (local or not), a pull, and ``/images/{name}/get``."""

    def __init__(self, local: bool, arch: str = "amd64") -> None:
        import docker.errors

        self.calls: list[tuple[str, ...]] = []
        self.local, self.arch, self.errors = local, arch, docker.errors
        self.images = self
        self.api = self

    def get(self, image):  # images.get

        if not self.local:
            self.calls.append(("inspect", image, "not local"))
            raise self.errors.ImageNotFound(f"No such image: {image}")
        return SimpleNamespace(attrs={"Os": "linux", "Architecture": self.arch})

    def pull(self, repository, tag):
        self.calls.append(("pull", f"{repository}:{tag}"))
        self.local = True

    def _url(self, path, image):
        return path.format(image)

    def _get(self, url, params, stream):
        self.calls.append(("GET", url, params["platform"]))
        return SimpleNamespace(close=lambda: None)  # a streamed response, closed once read

    def _raise_for_status(self, response):
        pass

    def _stream_raw_result(self, response, chunk_size, decode):
        return iter([b"an image archive"])


def _preloading_env(tmp_path, engine):
    from pytest_lbconform.environment import KindEnvironment

    env = KindEnvironment.__new__(KindEnvironment)
    env.cfg = from_options(tmp_path, lb="metallb", plan=True)
    env.client, env.workdir, env.progress = engine, tmp_path, lambda m: None
    return env


class _Cluster:
    name = "lbc-x-iptables"

    def __init__(self, calls):
        self.calls = calls

    def load_archive(self, archive, image):
        self.calls.append(("kind load image-archive", str(archive), image, archive.read_bytes().decode()))

    def load_image(self, image):
        raise AssertionError("kind load docker-image fails with the containerd image store: never used")


def test_preload_uses_the_local_image_without_pulling_and_loads_an_archive_of_its_platform(tmp_path):
    """9a7e0c7 always pulled (an air-gapped host has the image and no registry) and used `kind load docker-image`,
    which fails with Docker 29's containerd image store ("content digest … not found", kubernetes-sigs/kind#3795)."""
    engine = _FakeEngine(local=True, arch="arm64")
    _preloading_env(tmp_path, engine)._preload(_Cluster(engine.calls))
    archive = tmp_path / "traefik_whoami_v1.11.0.tar"
    assert engine.calls == [
        ("GET", "/images/traefik/whoami:v1.11.0/get", '{"os": "linux", "architecture": "arm64"}'),
        ("kind load image-archive", str(archive), "traefik/whoami:v1.11.0", "an image archive")]


def test_preload_pulls_an_image_that_is_not_local_first(tmp_path):
    engine = _FakeEngine(local=False)
    _preloading_env(tmp_path, engine)._preload(_Cluster(engine.calls))
    assert [c[0] for c in engine.calls] == ["inspect", "pull", "GET", "kind load image-archive"]
    assert engine.calls[1] == ("pull", "traefik/whoami:v1.11.0")


def test_preload_command_lines_are_kinds(tmp_path):
    assert kind.load_archive_command("kind", "n", tmp_path / "a.tar") == [
        "kind", "load", "image-archive", str(tmp_path / "a.tar"), "--name", "n"]
    assert kind.archive_name("registry:5000/team/whoami:v1") == "registry_5000_team_whoami_v1.tar"


def test_the_kind_double_loads_an_image_archive_and_refuses_anything_else(tmp_path, monkeypatch):
    """The double's `load image-archive` (used by tests/test_kind_double.py) without Docker: an archive `docker save`
    writes is accepted and logged, another file is refused."""
    import subprocess
    import sys
    import tarfile

    double = Path(__file__).parent / "kind_double" / "kind_double.py"
    good, bad, log = tmp_path / "good.tar", tmp_path / "bad.tar", tmp_path / "loads.log"
    (tmp_path / "manifest.json").write_text("[]")
    with tarfile.open(good, "w") as tar:
        tar.add(tmp_path / "manifest.json", arcname="manifest.json")
    bad.write_text("not a tar")
    monkeypatch.setenv("LBC_KIND_DOUBLE_LOG", str(log))
    ok = subprocess.run([sys.executable, str(double), "load", "image-archive", str(good), "--name", "c"],
                        capture_output=True, text=True, check=False)
    refused = subprocess.run([sys.executable, str(double), "load", "image-archive", str(bad), "--name", "c"],
                             capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and log.read_text() == f"image-archive {good} c\n"
    assert refused.returncode == 1 and "failed to load image archive" in refused.stderr
