"""``--platform=existing`` without Docker: the kubeconfig and its errors, the kube-proxy mode from its ConfigMap,
which containers are the nodes, what is not tested and why, the environment against an API double of a cluster
with MetalLB (namespace, backends and services created and deleted, nothing of MetalLB touched), the reaper of a
killed run's namespace, and ``--plan`` reading the cluster without writing anything.

Each of these failed on 9a7e0c7: it had no ``existing`` environment, options, plan or not-tested outcome.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from pytest_lbconform import labels, ownership, plan
from pytest_lbconform.config import from_options
from pytest_lbconform.errors import ConfigError, InfrastructureError
from pytest_lbconform.paths import SUITES
from pytest_lbconform.platforms import existing
from pytest_lbconform.providers import metallb_kind
from tests.existing_api_double import ExistingApi, kube_proxy_configmap, kubeconfig_text, serve
from tests.metallb_model import Cluster


@pytest.fixture
def cluster_api(httpserver, tmp_path, monkeypatch):
    """(api double, kubeconfig path) of a cluster with MetalLB v0.16.1, kube-proxy in iptables mode (mode empty)."""
    monkeypatch.setattr(metallb_kind, "POLL", 0.01)
    for name in [n for n in os.environ if n.startswith("LBCONFORM_")] + ["KUBECONFIG"]:
        monkeypatch.delenv(name, raising=False)
    api = ExistingApi(Cluster())
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(kubeconfig_text(serve(httpserver, api)))
    return api, kubeconfig


def _cfg(tmp_path: Path, kubeconfig: Path, **options):
    return from_options(tmp_path, lb="metallb", platform="existing", kubeconfig=str(kubeconfig),
                        report_dir=str(tmp_path / "reports"), **options)


# -- the kubeconfig -------------------------------------------------------------------------------------------------
def test_the_kubeconfig_falls_back_as_kubectls_does(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert existing.kubeconfig_paths(None, "--kubeconfig") == (str(tmp_path / ".kube" / "config"), "~/.kube/config")
    monkeypatch.setenv("KUBECONFIG", "/a:/b")
    assert existing.kubeconfig_paths(None, "--kubeconfig") == ("/a:/b", "KUBECONFIG")
    assert existing.kubeconfig_paths("~/k", "--kubeconfig") == (str(tmp_path / "k"), "--kubeconfig")


def test_a_kubeconfig_list_is_merged_the_first_file_winning(tmp_path, monkeypatch):
    first, second = tmp_path / "one", tmp_path / "two"
    first.write_text(kubeconfig_text("https://one:6443", "one"))
    second.write_text(kubeconfig_text("https://two:6443", "two").replace("current-context: two", "current-context: x"))
    monkeypatch.setenv("KUBECONFIG", f"{first}{os.pathsep}{tmp_path / 'missing'}{os.pathsep}{second}")
    target = existing.resolve_target(None, "--kubeconfig", "two", "--context")
    assert (target.context, target.server, target.source) == ("two", "https://two:6443", "KUBECONFIG")
    assert existing.resolve_target(None, "--kubeconfig", None, "--context").context == "one"


@pytest.mark.parametrize(("content", "context", "fragment"), [
    (None, None, "cannot read it (No such file or directory)"),
    ("", None, "not a kubeconfig (no contexts/clusters lists)"),
    ("key: [unclosed", None, "not a kubeconfig (not YAML"),
    (kubeconfig_text("https://x:6443").replace("current-context: mycluster", "current-context: ''"), None,
     "sets no current-context; name one with --context (contexts: mycluster)"),
    (kubeconfig_text("https://x:6443"), "nosuch", "--context='nosuch' is not a context of"),
    (kubeconfig_text("https://x:6443").replace("server: https://x:6443", "insecure-skip-tls-verify: true"), None,
     "names cluster 'mycluster', which has no server"),
])
def test_a_bad_kubeconfig_or_context_is_one_line(tmp_path, content, context, fragment):
    path = tmp_path / "kubeconfig"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as info:
        existing.resolve_target(str(path), "--kubeconfig", context, "--context")
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_an_api_that_accepts_and_never_answers_is_one_line_within_the_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(existing, "PROBE_TIMEOUT", (0.5, 0.5))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        (tmp_path / "kc").write_text(kubeconfig_text(f"http://127.0.0.1:{port}"))
        target = existing.resolve_target(str(tmp_path / "kc"), "--kubeconfig", None, "--context")
        import time

        started = time.monotonic()
        with pytest.raises(existing.ClusterUnreachable, match=r"did not answer \(connect 0.5 s, read 0.5 s\)"):
            existing.cluster_mode(target, None, "--proxy-mode")
        assert time.monotonic() - started < 5  # the client retries a read timeout 3 times at most


def test_existing_options_on_another_platform_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"^--kubeconfig, --allow-faults only apply on --platform=existing"):
        from_options(tmp_path, kubeconfig="/x", allow_faults=True)


# -- the kube-proxy mode ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("mode", "strict", "expected"), [
    ("", False, "iptables"), ("iptables", False, "iptables"), ("nftables", False, "nftables"),
    ("ipvs", True, "ipvs"), ("ipvs", False, "ipvs-nostrictarp")])
def test_the_mode_is_read_from_kube_proxys_configmap(mode, strict, expected):
    found = existing.proxy_mode_from(kube_proxy_configmap(mode, strict), daemonset=True)
    assert found.mode == expected
    if expected == "ipvs-nostrictarp":
        assert found.strict_arp is False and "strictARP off" in found.note


def test_no_kube_proxy_is_a_replacement_and_said_so():
    found = existing.proxy_mode_from(None, daemonset=False)
    assert found.mode == "kube-proxy-replacement" and "kube-proxy replacement (e.g. Cilium)" in found.note
    assert existing.proxy_mode_from(None, daemonset=True).mode is None
    assert existing.proxy_mode_from({"data": {"config.conf": "mode: kernelspace"}}, True).mode is None


def test_proxy_mode_given_must_match_the_clusters():
    found = existing.proxy_mode_from(kube_proxy_configmap("ipvs", False), True)
    with pytest.raises(ConfigError, match=r"--proxy-mode='ipvs', but the cluster's kube-proxy runs ipvs-nostrictarp"):
        existing.reconcile_mode(found, "ipvs", "--proxy-mode")
    assert existing.reconcile_mode(found, "ipvs-nostrictarp", "--proxy-mode").mode == "ipvs-nostrictarp"
    replacement = existing.proxy_mode_from(None, daemonset=False)
    assert existing.reconcile_mode(replacement, "iptables", "--proxy-mode").mode == "iptables"  # k3s says so
    with pytest.raises(ConfigError, match="one mode runs, the cluster's"):
        existing.reconcile_mode(found, "iptables,ipvs", "--proxy-mode")
    with pytest.raises(ConfigError, match="cannot read the cluster's kube-proxy mode"):
        existing.reconcile_mode(existing.proxy_mode_from(None, daemonset=True), None, "--proxy-mode")


def test_the_run_takes_the_clusters_mode_and_the_report_says_strict_arp_is_off(cluster_api, tmp_path):
    api, kubeconfig = cluster_api
    api.kube_proxy = kube_proxy_configmap("ipvs", strict_arp=False)
    cfg = _cfg(tmp_path, kubeconfig)
    assert cfg.modes == ("ipvs-nostrictarp",)
    from pytest_lbconform.plugin import run_environment

    env = run_environment(cfg)
    assert env["strict_arp"] == "off" and "strictARP off" in env["kube_proxy"]
    assert env["faults"] == "not allowed: not injected into the cluster"
    assert not api.writes


# -- which containers are the nodes ------------------------------------------------------------------------------
def _container(name, networks, run=False):
    return SimpleNamespace(name=name, labels={labels.RUN: "x"} if run else {},
                           attrs={"NetworkSettings": {"Networks": {
                               net: {"IPAddress": ip, "MacAddress": mac} for net, (ip, mac) in networks.items()}}})


def _engine(containers):
    net = SimpleNamespace(attrs={"IPAM": {"Config": [{"Subnet": "fc00::/64"}, {"Subnet": "172.18.0.0/16"}]}})
    return SimpleNamespace(containers=SimpleNamespace(list=lambda **kw: containers),
                           networks=SimpleNamespace(get=lambda name: net))


NODES = (existing.NodeFact("k-control-plane", "172.18.0.2", True, True, True),
         existing.NodeFact("k-worker", "172.18.0.3", False, False, True),
         existing.NodeFact("node-b", "172.18.0.4", False, False, True))


def test_nodes_are_found_by_kinds_names_or_their_internal_ip(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "ssh://root@vm")
    client = _engine([_container("k-control-plane", {"kind": ("172.18.0.2", "02:42:AC:12:00:02")}),
                      _container("k-worker", {"kind": ("172.18.0.3", "02:42:ac:12:00:03")}),
                      _container("vm-b", {"bridge": ("172.17.0.9", "x"), "kind": ("172.18.0.4", "02:42:ac:12:00:04")}),
                      _container("lbc-x-mypc", {"kind": ("172.18.0.4", "02:42:ac:12:00:09")}, run=True)])
    found = existing.find_node_containers(client, NODES)
    assert found.all and found.network == "kind" and found.subnet == "172.18.0.0/16"
    assert found.containers == {"k-control-plane": "k-control-plane", "k-worker": "k-worker", "node-b": "vm-b"}
    assert found.macs["k-control-plane"] == "02:42:ac:12:00:02" and not found.local
    assert found.engine == "ssh://root@vm"


def test_bare_metal_nodes_are_not_containers_and_say_why():
    found = existing.find_node_containers(_engine([_container("other", {"bridge": ("172.17.0.2", "m")})]), NODES)
    assert not found.all and "not containers of the Docker engine" in found.why_not()
    partial = existing.find_node_containers(_engine([_container("k-worker", {"kind": ("172.18.0.3", "m")})]), NODES)
    assert partial.missing == ("k-control-plane", "node-b") and "nodes k-control-plane, node-b are not" in \
        partial.why_not()


# -- not tested, and why --------------------------------------------------------------------------------------------
def test_what_an_existing_run_does_not_test():
    local = existing.NodeContainers("unix:///var/run/docker.sock", True, {"n": "n"}, network="kind")
    remote = existing.NodeContainers("ssh://root@vm", False, {"n": "n"}, network="kind")
    metal = existing.NodeContainers("unix:///var/run/docker.sock", True, {}, missing=("n",))
    withheld = existing.not_tested
    assert withheld(existing.Reach(False), needs_client=True, fault_kinds=["agent-kill"]) == existing.FAULTS_OPT_IN
    assert "only with --allow-faults" in withheld(existing.Reach(False), needs_client=False, disturbs="it fills")
    assert withheld(existing.Reach(False), needs_client=True) is None  # at collection nothing else is known
    assert withheld(existing.Reach(True, local, "kind"), needs_client=True, fault_kinds=["node-isolate"]) is None
    assert "not on this host" in withheld(existing.Reach(True, remote, "kind"), needs_client=True,
                                          fault_kinds=["peer-partition"])
    assert withheld(existing.Reach(True, remote, "kind"), needs_client=True, fault_kinds=["node-stop"]) is None
    assert "needs the nodes as containers" in withheld(existing.Reach(True, metal, "macvlan0"), needs_client=True,
                                                       fault_kinds=["node-freeze"])
    assert withheld(existing.Reach(True, metal, "macvlan0"), needs_client=True, fault_kinds=["agent-kill"]) is None
    assert "needs a client on the nodes' L2 segment" in withheld(existing.Reach(True, metal, None), needs_client=True)
    assert withheld(existing.Reach(False, metal, None), needs_client=False) is None  # the API checks run


# -- the environment against the API double ----------------------------------------------------------------------
def test_the_environment_creates_only_its_namespace_and_deletes_it(cluster_api, tmp_path):
    """No Docker engine: the API's objects are made and removed, the clients are not (not tested: no client)."""
    from pytest_lbconform.environment import ExistingEnvironment

    api, kubeconfig = cluster_api
    kubeconfig.write_text(kubeconfig.read_text().replace("mycluster", "myk8s"))  # a context named like the prefix
    written = kubeconfig.read_bytes(), kubeconfig.stat().st_mtime_ns
    env = ExistingEnvironment(_cfg(tmp_path, kubeconfig), None, lambda m: None)
    env.setup()
    namespace = env.namespace
    assert namespace == f"lbconform-{env.run_id}" and env.version == "v0.16.1"
    made = api.namespaces[namespace]["metadata"]
    assert made["labels"][labels.RUN] == env.run_id and made["annotations"][ownership.OWNER] == ownership.me().token
    assert {p for m, p in api.writes} == {"/api/v1/namespaces", f"/api/v1/namespaces/{namespace}/pods",
                                          f"/api/v1/namespaces/{namespace}/services"}  # nothing of MetalLB's
    pods = [o for (ns, kind, _), o in api.objects.items() if kind == "pods"]
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["myk8s-worker", "myk8s-worker2", "myk8s-worker3"]
    assert all(p["metadata"]["labels"][labels.RUN] == env.run_id for p in pods)
    lb = env.for_mode("iptables")
    assert [s.vip for s in lb.services] == ["172.18.255.200", "172.18.255.201", "172.18.255.202"]
    assert lb.provider.wait_converged() == {"svc1": "myk8s-worker", "svc2": "myk8s-worker", "svc3": "myk8s-worker3"}
    assert lb.provider.pool == ("172.18.255.200", "172.18.255.250") and lb.provider.free_address() == "172.18.255.250"
    assert lb.reach is not None and lb.reach.client_network is None and not lb.topology.clients
    env.teardown()
    assert api.deleted == [namespace] and namespace not in api.namespaces
    assert not [k for k in api.objects if k[0] == namespace]
    assert (kubeconfig.read_bytes(), kubeconfig.stat().st_mtime_ns) == written  # read, never written


def test_a_cluster_without_metallb_is_one_line_and_creates_nothing(cluster_api, tmp_path):
    from pytest_lbconform.environment import ExistingEnvironment

    api, kubeconfig = cluster_api
    api.metallb = False
    env = ExistingEnvironment(_cfg(tmp_path, kubeconfig), None, lambda m: None)
    with pytest.raises(InfrastructureError, match="no MetalLB speaker DaemonSet in namespace metallb-system"):
        env.setup()
    env.teardown()
    assert not api.writes


def test_a_failed_set_up_still_deletes_the_namespace(cluster_api, tmp_path, monkeypatch):
    from pytest_lbconform.environment import ExistingEnvironment
    from pytest_lbconform.providers.metallb_existing import ExistingMetalLB

    api, kubeconfig = cluster_api

    def interrupted(self):
        raise KeyboardInterrupt  # Ctrl-C while the pods start

    monkeypatch.setattr(ExistingMetalLB, "_pods_ready", interrupted)
    env = ExistingEnvironment(_cfg(tmp_path, kubeconfig), None, lambda m: None)
    with pytest.raises(KeyboardInterrupt):
        env.setup()
    env.teardown()
    assert api.deleted == [env.namespace]


def test_the_statuses_of_a_service_of_the_same_name_elsewhere_do_not_count():
    from pytest_lbconform.providers import metallb

    def status(node, namespace):
        return {"metadata": {"labels": {"metallb.io/node": node, "metallb.io/service-name": "svc1",
                                        "metallb.io/service-namespace": namespace}},
                "status": {"node": node, "serviceName": "svc1", "serviceNamespace": namespace}}

    items = [status("a", "lbconform-x"), status("b", "default")]
    assert metallb.owners_from_l2status(items, namespace="lbconform-x")["svc1"].nodes == ("a",)
    assert metallb.owners_from_l2status(items)["svc1"].nodes == ("a", "b")


def test_advertisements_select_nodes_as_metallb_does():
    node_labels = {"a": {"zone": "x"}, "b": {"zone": "y"}, "c": {}}
    assert existing.advertised_nodes([{"name": "all"}], "p", node_labels) is None
    ads = [{"name": "z", "ipAddressPools": ["p"], "nodeSelectors": [{"matchLabels": {"zone": "x"}},
                                                                     {"matchExpressions": [{"key": "zone",
                                                                                            "operator": "DoesNotExist"}]}]}]
    assert existing.advertised_nodes(ads, "p", node_labels) == {"a", "c"}
    assert existing.advertised_nodes(ads, "other", node_labels) is None  # no advertisement of its own


# -- the reaper of a killed run's namespace ------------------------------------------------------------------------
def test_a_killed_runs_namespace_is_removed_by_the_next_run(cluster_api, tmp_path):
    api, kubeconfig = cluster_api
    me = ownership.me()
    dead = ownership.Owner(me.boot_id, me.pidns, me.pid, me.start - 1)
    for name, token in (("lbconform-dead1", dead.token), ("lbconform-live1", me.token), ("lbconform-else1", "x/y/1/2")):
        api.namespaces[name] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": name, "labels": {labels.RUN: name[10:]}, "annotations": {ownership.OWNER: token,
                                                                             ownership.MACHINE: "m"}}}
    from kubernetes import client as k8s

    target = existing.resolve_target(str(kubeconfig), "--kubeconfig", None, "--context")
    removed, left = existing.reap_namespaces(k8s.CoreV1Api(existing.api_client(target)), target.context)
    assert removed == ["namespace lbconform-dead1"]
    assert len(left) == 1 and "lbconform-else1 left alone" in left[0] and "kubectl --context mycluster delete " \
        "namespace lbconform-else1" in left[0]
    assert "lbconform-live1" in api.namespaces


# -- the plan ---------------------------------------------------------------------------------------------------------
def test_the_plan_reads_the_cluster_and_writes_nothing(cluster_api, tmp_path):
    api, kubeconfig = cluster_api
    text = plan.render(_cfg(tmp_path, kubeconfig, plan=True), None, run_id="abc123")
    assert not api.writes
    assert "# cluster: context mycluster" in text and "read only: never written" in text
    assert "#   myk8s-worker2 worker 172.18.0.4 Ready" in text
    assert "# kube-proxy: iptables (mode empty: iptables on Linux)" in text and "→ mode iptables" in text
    assert "# MetalLB in metallb-system: v0.16.1 (speaker image quay.io/metallb/speaker:v0.16.1)" in text
    assert "# pools: default-pool 172.18.255.200-172.18.255.250" in text
    docs = [d for d in yaml.safe_load_all(text.split("removed at the end")[1].split("\n", 1)[1].split("\n#")[0]) if d]
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("Namespace", "lbconform-abc123"), ("Pod", "webpod1"), ("Pod", "webpod2"), ("Pod", "webpod3"),
        ("Service", "svc1"), ("Service", "svc2"), ("Service", "svc3")]
    assert {d["spec"]["nodeName"] for d in docs if d["kind"] == "Pod"} == {"myk8s-worker", "myk8s-worker2",
                                                                           "myk8s-worker3"}
    not_tested = text.split("# would not be tested, and why:")[1]
    assert "with node-stop: faults are injected into your cluster only with --allow-faults" in not_tested
    assert "the checks on the wire): needs a client on the nodes' L2 segment: no Docker engine answers" in not_tested


def test_the_plan_of_an_unreachable_cluster_says_so_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(existing, "PROBE_TIMEOUT", (0.5, 0.5))
    (tmp_path / "kc").write_text(kubeconfig_text("http://127.0.0.1:9"))
    cfg = _cfg(tmp_path, tmp_path / "kc", plan=True)
    text = plan.render(cfg, None)
    lines = [line for line in text.splitlines() if line.startswith("# API not reachable: ")]
    assert len(lines) == 1 and "(http://127.0.0.1:9) did not answer" in lines[0]
    assert "kind: Namespace" in text and "# would not be tested, and why (the cluster was not read" in text


def test_plan_on_the_command_line_creates_nothing(cluster_api, pytester, tmp_path):
    """`pytest --lb=metallb --platform=existing --kubeconfig K --plan`: the plan, exit 0, no write to the cluster,
    no file in the working directory, no report directory."""
    api, kubeconfig = cluster_api
    before = sorted(p.name for p in pytester.path.iterdir())
    result = pytester.runpytest_inprocess("--lb=metallb", "--platform=existing", f"--kubeconfig={kubeconfig}",
                                          "--plan", "-p", "no:cacheprovider", str(SUITES))
    assert result.ret == 0, result.stderr.str()
    out = result.stdout.str()
    assert "# plan: lb=metallb platform=existing modes=iptables" in out and "# would not be tested, and why" in out
    assert not api.writes
    assert sorted(p.name for p in pytester.path.iterdir()) == before and not (tmp_path / "reports").exists()


# -- the suites through pytest, without a Docker engine -----------------------------------------------------------
@pytest.mark.parametrize("allow", [False, True])
def test_without_an_engine_the_api_checks_run_and_the_rest_is_not_tested(cluster_api, pytester, tmp_path,
                                                                          monkeypatch, allow):
    """A bare-metal user with no Docker engine: the SERVICE-API checks run against the cluster (here the API
    double); the wire checks are not tested (no client), the faults neither; the exhausted pool only with
    --allow-faults, and only then SERVICE-API can read success."""
    api, kubeconfig = cluster_api
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    reports = tmp_path / "reports"
    result = pytester.runpytest_subprocess("--lb=metallb", "--platform=existing", f"--kubeconfig={kubeconfig}",
                                          f"--report-dir={reports}", "-p", "no:cacheprovider",
                                          *(["--allow-faults"] if allow else []), str(SUITES))
    assert result.ret == 0, result.stdout.str()[-3000:]
    report = json.loads((reports / "conformance.json").read_text())
    results = {p["name"]: p["result"] for p in report["profiles"]}
    assert results == {"L2-ANNOUNCE": "not-tested", "L2-FAILOVER": "not-tested", "SERVICE-TRAFFIC": "not-tested",
                       "SERVICE-API": "success" if allow else "not-tested", "BALANCING": "not-tested"}, results
    service_api = next(p for p in report["profiles"] if p["name"] == "SERVICE-API")
    assert service_api["core"]["passed"] == (5 if allow else 4) and service_api["extended"]["passed"] == 1
    reasons = {c["reason"] for p in report["profiles"] for c in p["not_tested"]}
    no_client = "needs a client on the nodes' L2 segment: no Docker engine answers at unix:///nonexistent.sock"
    assert reasons == ({no_client} if allow else {no_client, existing.FAULTS_OPT_IN,
                                                  "it fills the address pool: a service of yours created meanwhile "
                                                  "would stay pending; a run does that to your cluster only with "
                                                  "--allow-faults"}), reasons
    assert report["environment"]["faults"].startswith("allowed" if allow else "not allowed")
    result.stdout.fnmatch_lines(["lbconform: cluster context mycluster (http://localhost:*), kube-proxy iptables *; "
                                 f"faults {'allowed' if allow else 'not injected'}*"])
    # Allure: skipped with the reason, under its check's labels (decided at set-up: the body never ran)
    results = [json.loads(p.read_text()) for p in (reports / "allure-results").glob("*-result.json")]
    arp = next(r for r in results if r["name"].startswith("test_exactly_one_node_answers_arp[existing-iptables-v4-svc1"))
    assert arp["status"] == "skipped" and no_client in arp["statusDetails"]["message"]
    assert {("epic", "LB"), ("feature", "ARP ownership"), ("severity", "critical")} <= {
        (x["name"], x["value"]) for x in arp["labels"]}
    assert len(api.deleted) == 1 and not [n for n in api.namespaces if n.startswith("lbconform-")]
    assert not [w for w in api.writes if w[0] == "PATCH"]  # no node was touched: no fault ran


def test_a_remote_engine_that_does_not_answer_stops_the_set_up(cluster_api, pytester, tmp_path, monkeypatch):
    """DOCKER_HOST names an engine (here tcp:// on a closed port): it must answer; the run does not go on without it."""
    api, kubeconfig = cluster_api
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    result = pytester.runpytest_subprocess("--lb=metallb", "--platform=existing", f"--kubeconfig={kubeconfig}",
                                           f"--report-dir={tmp_path / 'reports'}", "-p", "no:cacheprovider",
                                           str(SUITES))
    assert result.ret == 3, result.stdout.str()[-2000:]
    result.stdout.fnmatch_lines(["*lbconform: cannot set up lb=metallb platform=existing modes=iptables: no Docker "
                                 "engine answers*"])
    assert not api.writes


# -- not tested in the reports -----------------------------------------------------------------------------------------
def test_not_tested_checks_are_listed_and_the_profile_is_neither_success_nor_failure():
    from pytest_lbconform.report import conformance, page

    def result(nodeid, outcome, check, message=""):
        return conformance.CheckResult(nodeid, "failover", outcome, message, profile="L2-FAILOVER", tier="core",
                                       checks=[check])

    why = existing.FAULTS_OPT_IN
    results = [result("suites/test_failover.py::test_failover[existing-iptables-agent-kill-svc1]", "not-tested",
                      "failover-budget", why),
               result("suites/test_arp_ownership.py::test_exactly_one_node_answers_arp[existing-iptables-svc1]",
                      "passed", "arp-ownership")]
    results[1].profile, results[1].family = "L2-ANNOUNCE", "arp_ownership"
    report = conformance.build(results, implementation={"project": "MetalLB", "version": "v0.16.1"},
                               environment={"platform": "existing", "modes": "iptables"})
    failover = next(p for p in report["profiles"] if p["name"] == "L2-FAILOVER")
    assert failover["result"] == "not-tested" and failover["core"]["not-tested"] == 1
    assert failover["not_tested"] == [{"id": results[0].nodeid, "reason": why}]
    announce = next(p for p in report["profiles"] if p["name"] == "L2-ANNOUNCE")
    assert announce["result"] == "partial"  # garp-on-announcement did not run: never success
    import jsonschema

    jsonschema.validate(report, conformance.schema())
    html = page.render(report)
    assert (f"<b>L2-FAILOVER</b> not tested, 1 checks (test_failover[existing-iptables-agent-kill-svc1]): "
            f"{why}") in html
    assert "<span class='not-tested'>not-tested</span>" in html


def test_a_skipped_report_marked_not_tested_is_not_tested():
    from pytest_lbconform.report import conformance
    from pytest_lbconform.report.evidence import META, NOT_TESTED

    report = SimpleNamespace(nodeid="pytest_lbconform/suites/test_failover.py::test_failover[x]", when="setup",
                             passed=False, skipped=True, failed=False, duration=0.0,
                             longrepr=("f", 1, "Skipped: not tested: faults are injected …"),
                             user_properties=[(META, {"checks": ["failover-budget"], "profile": "L2-FAILOVER",
                                                      "tier": "core", "applies": True}),
                                              (NOT_TESTED, "faults are injected …")])
    converted = conformance.from_report(report)
    assert converted.outcome == "not-tested" and converted.message == "faults are injected …"


def test_the_schema_rejects_an_unknown_outcome_and_accepts_not_tested():
    import jsonschema

    from pytest_lbconform.report import conformance

    outcome = {"$ref": "#/$defs/outcome", "$defs": conformance.schema()["$defs"]}
    jsonschema.validate("not-tested", outcome)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate("not tested", outcome)


def test_json_round_trip_of_the_threadsafe_api_double(cluster_api):
    """The double answers while the run polls from threads (the plugin's clients do): a smoke check."""
    _api, kubeconfig = cluster_api
    target = existing.resolve_target(str(kubeconfig), "--kubeconfig", None, "--context")
    views = []
    threads = [threading.Thread(target=lambda: views.append(existing.read_cluster(target, "metallb-system")))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [v.metallb_version for v in views] == ["v0.16.1"] * 3 and json.dumps([v.kubernetes for v in views])
