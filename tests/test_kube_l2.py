"""The generic Kubernetes L2 provider (``providers/kube_l2.py``, ``kube_l2_kind.py``): every object and command it
generates from a spec, contract-tested (core objects validated strictly by kubernetes-validate), its plan, and its
owner report and agent keep-away against a fake API."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import kubernetes_validate
import pytest
import yaml

from pytest_lbconform import plan
from pytest_lbconform.config import from_options
from pytest_lbconform.errors import ConfigError
from pytest_lbconform.platforms import kind
from pytest_lbconform.platforms.base import Host, Topology
from pytest_lbconform.providers import kube_l2, kube_l2_kind  # imported now: test_kind_logs replaces KindMetalLB
from pytest_lbconform.providers.base import Service
from pytest_lbconform.providers.spec import load_spec
from tests.conftest import ROOT

EXAMPLE = ROOT / "docs" / "examples" / "acme-l2.yaml"
K8S = "1.31"

HELM_SPEC = """\
name: chart-lb
platforms: [kind]
modes: {kind: [kube-proxy-replacement]}
capabilities: [arp, owner_report]
kubernetes:
  install:
    version: 1.20.4
    helm:
      repo: https://helm.example.com
      chart: lb
      version: 1.20.4
      release: lb
      namespace: kube-system
      values: {k8sServiceHost: '{cluster}-control-plane', l2: {enabled: true}, devices: [eth0]}
  cluster: {disable_default_cni: true}
  pool:
    template: |
      apiVersion: example.com/v2
      kind: Pool
      metadata: {name: lbconform-pool}
      spec: {blocks: [{start: '{pool_start}', stop: '{pool_end}'}]}
  service:
    load_balancer_class: example.com/l2
    requested_ip: {field: spec.loadBalancerIP}
    local_annotations: {example.com/allow-local: "true"}
  owner_report:
    lease: {namespace: kube-system, name: 'l2-{service_namespace}-{service}'}
  agent: {namespace: kube-system, name: lb-agent, selector: k8s-app=lb, keep_away: node_label}
"""


@pytest.fixture
def acme():
    return load_spec(EXAMPLE)


@pytest.fixture
def chart(tmp_path):
    path = tmp_path / "chart-lb.yaml"
    path.write_text(HELM_SPEC)
    return load_spec(path)


def test_release_manifests_get_the_pinned_version(acme):
    assert kube_l2.manifest_urls(acme) == ["https://acme.example.com/l2/releases/download/v2.4.1/acme-crds.yaml",
                                           "https://acme.example.com/l2/releases/download/v2.4.1/acme-l2.yaml"]


def test_the_pool_template_is_filled_with_the_run_s_range(acme):
    pool = kube_l2.pool_objects(acme, "172.18.255.200", "172.18.255.215", "172.18.0.0/16", "lbc-x")
    assert pool == [{"apiVersion": "acme.example.com/v1", "kind": "AcmePool",
                     "metadata": {"name": "lbconform-pool", "namespace": "acme-system"},
                     "spec": {"range": "172.18.255.200-172.18.255.215", "subnet": "172.18.0.0/16"}}]


def test_node_sysctls_are_set_with_docker_exec(acme):
    assert kube_l2.sysctl_commands(acme, "lbc-worker") == [
        ["docker", "exec", "lbc-worker", "sysctl", "-w", "net.ipv4.conf.all.arp_ignore=1"],
        ["docker", "exec", "lbc-worker", "sysctl", "-w", "net.ipv4.conf.all.arp_announce=2"]]


def _core_objects(spec) -> list[dict[str, Any]]:
    return [*kube_l2.services(spec),
            kube_l2.allocation_service("alloc", "172.18.255.210", None, 8080, spec),
            *([kube_l2.allocation_service("shared", None, "k", 8080, spec)]
              if spec.kubernetes.service.sharing_annotation else [])]


@pytest.mark.parametrize("which", ["acme", "chart"])
def test_generated_services_validate_strictly(which, request):
    for obj in _core_objects(request.getfixturevalue(which)):
        kubernetes_validate.validate(obj, K8S, strict=True)


def test_services_carry_the_class_the_local_annotation_and_the_request(chart, acme):
    svc1, svc2, _ = kube_l2.services(chart)
    assert svc1["spec"]["loadBalancerClass"] == svc2["spec"]["loadBalancerClass"] == "example.com/l2"
    assert "annotations" not in svc1["metadata"] and svc2["metadata"]["annotations"] == {
        "example.com/allow-local": "true"}
    assert kube_l2.allocation_service("a", "172.18.255.210", None, 80, chart)["spec"]["loadBalancerIP"] == \
        "172.18.255.210"
    shared = kube_l2.allocation_service("a", "172.18.255.210", "k", 80, acme)
    assert shared["metadata"]["annotations"] == {"acme.example.com/ip": "172.18.255.210",
                                                 "acme.example.com/share-with": "k"}
    with pytest.raises(ConfigError, match="says no way to share an address"):
        kube_l2.allocation_service("a", None, "k", 80, chart)


def test_helm_template_command_and_values(chart):
    assert kube_l2.helm_command(chart, "/w/values.yaml") == [
        "helm", "template", "lb", "lb", "--repo", "https://helm.example.com", "--version", "1.20.4",
        "--namespace", "kube-system", "--include-crds", "--values", "/w/values.yaml"]
    assert kube_l2.values(chart, "lbc-x") == {"k8sServiceHost": "lbc-x-control-plane", "l2": {"enabled": True},
                                              "devices": ["eth0"]}


def test_helm_missing_is_one_line(monkeypatch):
    monkeypatch.setattr(kube_l2.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match=r"helm is needed on PATH .*https://helm.sh/docs/intro/install/"):
        kube_l2.helm_binary()


def test_a_cluster_without_kube_proxy_or_kindnet():
    config = kind.cluster_config("c", "kube-proxy-replacement", disable_default_cni=True)
    assert config["networking"]["kubeProxyMode"] == "none" and config["networking"]["disableDefaultCNI"] is True
    assert "--wait" not in kind.create_command("kind", "c", Path("c.yaml"), Path("kc"), wait=False)
    assert kind.config_hash(config) != kind.config_hash(kind.cluster_config("c", "iptables"))


def test_the_node_label_keep_away_keeps_the_agent_s_own_affinity():
    own = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]}}}
    merged = kube_l2.avoiding_no_agent(own)
    expressions = merged["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0][
        "matchExpressions"]
    assert expressions == [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                           {"key": kube_l2.NO_AGENT_LABEL, "operator": "DoesNotExist"}]
    assert kube_l2.avoiding_no_agent(merged) == merged  # applied twice (a reused cluster): once
    fresh = kube_l2.avoiding_no_agent(None)
    assert fresh["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] == [
        {"matchExpressions": [{"key": kube_l2.NO_AGENT_LABEL, "operator": "DoesNotExist"}]}]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "x:1"}], "affinity": merged}}
    kubernetes_validate.validate(pod, K8S, strict=True)


# -- the plan ---------------------------------------------------------------------------------------------------
def test_the_vendor_example_plans_without_python(tmp_path):
    cfg = from_options(tmp_path, lb_spec=str(EXAMPLE), plan=True)
    assert cfg.lb == "acme-l2" and cfg.spec.implementation == "kube-l2" and cfg.modes == ("iptables", "nftables")
    text = plan.render(cfg, None)
    assert text.startswith("# plan: lb=acme-l2 platform=kind modes=iptables,nftables")
    assert "server-side apply of every object of https://acme.example.com/l2/releases/download/v2.4.1/acme-l2.yaml" \
        in text
    assert "sysctl -w net.ipv4.conf.all.arp_ignore=1" in text and "kind: AcmePool" in text
    assert "the owner report: Lease acme-system/acme-{service_namespace}-{service}, holderIdentity node/{node}" in text
    assert "not supported by design: failover:node-freeze: the VIP is a kernel address" in text
    for doc in yaml.safe_load_all(text.split("# backends and services:\n", 1)[1].split("\n$ ", 1)[0]):
        kubernetes_validate.validate(doc, K8S, strict=True)


def test_a_chart_spec_plans_its_helm_command_and_a_cluster_without_cni(tmp_path):
    path = tmp_path / "chart-lb.yaml"
    path.write_text(HELM_SPEC)
    text = plan.render(from_options(tmp_path, lb_spec=str(path), plan=True), None)
    assert "$ helm template lb lb --repo https://helm.example.com --version 1.20.4" in text
    assert "k8sServiceHost: lbc-<run>-kube-proxy-replacement-control-plane" in text
    assert "disableDefaultCNI: true" in text and "kubeProxyMode: none" in text and "--wait 5m" not in text
    assert "node affinity lbconform.io/no-agent DoesNotExist" in text


def test_a_chart_spec_without_helm_is_one_line_before_a_cluster_is_made(tmp_path, monkeypatch):
    path = tmp_path / "chart-lb.yaml"
    path.write_text(HELM_SPEC)
    monkeypatch.setattr(kube_l2.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="helm is needed on PATH"):
        from_options(tmp_path, lb_spec=str(path))


# -- the live provider against a fake API ----------------------------------------------------------------------
class FakeApi:
    """The few calls KindKubeL2 makes for its owner report and faults, answered from dicts."""

    def __init__(self) -> None:
        self.services: dict[str, dict[str, Any]] = {}
        self.leases: dict[tuple[str, str], dict[str, Any]] = {}
        self.node_patches: list[tuple[str, dict[str, Any]]] = []
        self.deleted: list[tuple[str, str, Any]] = []
        self.pods = [{"metadata": {"name": "agent-a"}, "spec": {"nodeName": "c-worker"}}]

    def read_namespaced_service(self, name, namespace):
        return self.services[name]

    def read_namespaced_lease(self, name, namespace):
        from kubernetes.client.exceptions import ApiException

        if (namespace, name) not in self.leases:
            raise ApiException(status=404)
        return self.leases[(namespace, name)]

    def patch_node(self, name, body):
        self.node_patches.append((name, body))

    def read_node(self, name):
        return {"spec": {"taints": []}}

    def list_namespaced_pod(self, namespace, label_selector="", field_selector=""):
        return SimpleNamespace(items=self.pods)

    def delete_namespaced_pod(self, name, namespace, **kwargs):
        self.deleted.append((name, namespace, kwargs.get("grace_period_seconds")))


def _provider(spec, api: FakeApi, monkeypatch):
    monkeypatch.setattr(kube_l2_kind.k8s, "CoordinationV1Api", lambda _api: api)
    provider = kube_l2_kind.KindKubeL2.__new__(kube_l2_kind.KindKubeL2)
    provider.spec, provider.kube, provider.core = spec, spec.kubernetes, api
    provider.api, provider._dict = None, lambda o: o
    provider.namespace = spec.kubernetes.agent.namespace
    provider.agent_selector = spec.kubernetes.agent.selector
    provider.app_namespace = "default"
    provider.topology = Topology("c", "kind", None, "", (), ())  # type: ignore[arg-type]
    return provider


def test_the_lease_holder_is_the_owner(acme, monkeypatch):
    api = FakeApi()
    api.services["svc1"] = {"metadata": {"name": "svc1", "namespace": "default"}}
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    api.leases[("acme-system", "acme-default-svc1")] = {
        "metadata": {"name": "acme-default-svc1"},
        "spec": {"holderIdentity": "node/c-worker2", "leaseDurationSeconds": 5, "renewTime": now}}
    provider = _provider(acme, api, monkeypatch)
    svc = Service("svc1", "172.18.255.250", 80, "Cluster")
    assert provider.holders(svc) == ["worker2"] and provider.owner(svc) == "worker2"
    assert provider.report(svc).note == ""
    del api.leases[("acme-system", "acme-default-svc1")]
    assert provider.holders(svc) == [] and provider.owner(svc) is None


def test_agent_kill_taints_and_deletes_and_the_undo_untaints(acme, monkeypatch):
    api = FakeApi()
    provider = _provider(acme, api, monkeypatch)
    node = Host("c-worker", "worker", "172.18.0.3", "02:42:ac:12:00:03", "worker")
    provider.crash_agent(node)
    assert api.node_patches[0][1]["spec"]["taints"][0]["effect"] == "NoSchedule"
    assert api.deleted == [("agent-a", "acme-system", 0)]
    provider._let_agent_back(node)
    assert api.node_patches[-1] == ("c-worker", {"spec": {"taints": []}})


def test_agent_kill_by_node_label_for_an_agent_that_tolerates_every_taint(chart, monkeypatch):
    api = FakeApi()
    provider = _provider(chart, api, monkeypatch)
    node = Host("c-worker", "worker", "172.18.0.3", "02:42:ac:12:00:03", "worker")
    provider.kill_agent(node)
    assert api.node_patches == [("c-worker", {"metadata": {"labels": {kube_l2.NO_AGENT_LABEL: "true"}}})]
    assert api.deleted == [("agent-a", "kube-system", None)]
    provider._let_agent_back(node)
    assert api.node_patches[-1] == ("c-worker", {"metadata": {"labels": {kube_l2.NO_AGENT_LABEL: None}}})


# -- a cluster of your own (--platform=existing) -----------------------------------------------------------------
def test_the_vendor_lb_plans_on_an_existing_cluster_reading_its_agent(httpserver, tmp_path, monkeypatch):
    from tests.existing_api_double import ExistingApi, kubeconfig_text, serve
    from tests.metallb_model import Cluster

    for name in [n for n in __import__("os").environ if n.startswith("LBCONFORM_")] + ["KUBECONFIG"]:
        monkeypatch.delenv(name, raising=False)
    api = ExistingApi(Cluster(), metallb=False)
    api.daemonsets[("acme-system", "acme-agent")] = "acme.example.com/agent:v2.4.1"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(kubeconfig_text(serve(httpserver, api)))
    cfg = from_options(tmp_path, lb_spec=str(EXAMPLE), platform="existing", kubeconfig=str(kubeconfig), plan=True)
    text = plan.render(cfg, None, run_id="abc123")
    assert not api.writes and "# Acme L2 LoadBalancer is used as you installed it" in text
    assert "# Acme L2 LoadBalancer in acme-system: v2.4.1 (DaemonSet acme-agent image acme.example.com/agent:v2.4.1)" \
        in text
    assert "# the owner report: Lease acme-system/acme-{service_namespace}-{service}" in text and "# pools:" not in text
    services = [d for d in yaml.safe_load_all(text.split("removed at the end")[1].split("\n", 1)[1].split("\n#")[0])
                if d and d["kind"] == "Service"]
    assert [s["metadata"]["namespace"] for s in services] == ["lbconform-abc123"] * 3
    del api.daemonsets[("acme-system", "acme-agent")]
    text = plan.render(cfg, None, run_id="abc123")
    assert "no Acme L2 LoadBalancer DaemonSet acme-agent in namespace acme-system (install it first" in text


def test_on_an_existing_cluster_nothing_is_installed_and_the_spec_reads_the_owner():
    from pytest_lbconform.providers.kube_l2_existing import ExistingKubeL2
    from pytest_lbconform.providers.metallb_existing import ExistingMetalLB

    assert ExistingKubeL2.install is ExistingMetalLB.install and ExistingKubeL2.version is ExistingMetalLB.version
    assert ExistingKubeL2.holders is kube_l2_kind.KindKubeL2.holders
    assert ExistingKubeL2.expected_owners is kube_l2_kind.KindKubeL2.expected_owners


def test_on_an_existing_cluster_a_node_label_keep_away_needs_the_agent_s_own_affinity(chart, monkeypatch):
    from pytest_lbconform.errors import InfrastructureError
    from pytest_lbconform.providers.kube_l2_existing import ExistingKubeL2

    api = FakeApi()
    provider = _provider(chart, api, monkeypatch)
    provider.__class__ = ExistingKubeL2
    template: dict[str, Any] = {"spec": {"template": {"spec": {}}}}
    provider.apps = SimpleNamespace(read_namespaced_daemon_set=lambda name, namespace: template)
    node = Host("c-worker", "worker", "172.18.0.3", "02:42:ac:12:00:03", "worker")
    with pytest.raises(InfrastructureError, match=r"has no node affinity lbconform\.io/no-agent DoesNotExist"):
        provider.kill_agent(node)
    assert api.node_patches == [] and api.deleted == []
    template["spec"]["template"]["spec"]["affinity"] = kube_l2.avoiding_no_agent(None)
    provider.kill_agent(node)
    assert api.node_patches == [("c-worker", {"metadata": {"labels": {kube_l2.NO_AGENT_LABEL: "true"}}})]


def test_the_http_owner_report_asks_each_agent_pod_through_the_pod_proxy(monkeypatch, tmp_path):
    from pytest_lbconform.providers.kube_model import HttpReport

    text = HELM_SPEC.replace("lease: {namespace: kube-system, name: 'l2-{service_namespace}-{service}'}",
                             "http: {port: 11111, path: /netlox/v1/config/cistate/all, items: Attr, state: state, "
                             "active: [MASTER], match: {instance: llb-inst0}}")
    path = tmp_path / "http-lb.yaml"
    path.write_text(text)
    spec = load_spec(path)
    assert isinstance(spec.kubernetes.owner_report.http, HttpReport)
    api = FakeApi()
    api.pods = [{"metadata": {"name": f"agent-{n}"}, "spec": {"nodeName": f"c-{n}"}} for n in ("worker", "worker2")]
    api.services["svc1"] = {"metadata": {"name": "svc1", "namespace": "default"}}
    asked = []

    def proxy(name, namespace, path):
        asked.append((name, namespace, path))
        if name.startswith("agent-worker2"):
            return '{"Attr": [{"instance": "llb-inst0", "state": "MASTER"}]}'
        return {"Attr": [{"instance": "llb-inst0", "state": "BACKUP"}]}

    api.connect_get_namespaced_pod_proxy_with_path = proxy  # type: ignore[attr-defined]
    provider = _provider(spec, api, monkeypatch)
    assert provider.holders(Service("svc1", "172.18.255.250", 80, "Cluster")) == ["worker2"]
    assert asked == [("agent-worker:11111", "kube-system", "netlox/v1/config/cistate/all"),
                     ("agent-worker2:11111", "kube-system", "netlox/v1/config/cistate/all")]


def test_the_agent_is_ready_when_every_scheduled_pod_is(acme, monkeypatch):
    provider = _provider(acme, FakeApi(), monkeypatch)
    status: dict[str, Any] = {"desiredNumberScheduled": 3, "numberReady": 2}
    provider.apps = SimpleNamespace(read_namespaced_daemon_set=lambda name, namespace: {"status": status})
    assert not provider._metallb_ready()
    status["numberReady"] = 3
    assert provider._metallb_ready()


def test_every_document_of_a_release_is_applied_server_side_lists_unpacked(acme, monkeypatch):
    provider = _provider(acme, FakeApi(), monkeypatch)
    applied = []
    monkeypatch.setattr(provider, "apply", lambda obj: applied.append((obj["kind"], obj["metadata"]["name"])))
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}
    provider.apply_all([None, cm, {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "b"}}]}, "not an object"])
    assert applied == [("ConfigMap", "a"), ("ServiceAccount", "b")]


# -- convergence ---------------------------------------------------------------------------------------------------
def test_a_generic_lb_that_never_settles_times_out_naming_the_generic_wait_not_metallbs_election(monkeypatch):
    """No election is computed for a spec-described LB: its timeout says what the wait asked for (one unchanged
    holder per service for STABLE_FOR s), not MetalLB's election."""
    from pytest_lbconform.errors import InfrastructureError
    from pytest_lbconform.providers import metallb_kind

    monkeypatch.setattr(metallb_kind, "POLL", 0.01)
    spec = load_spec(EXAMPLE)
    lb = kube_l2_kind.KindKubeL2.__new__(kube_l2_kind.KindKubeL2)
    lb.spec, lb.kube, lb.address_changes = spec, kube_l2.section(spec), {}
    lb.services = (Service("svc1", "172.18.255.200", 80, "Cluster"),)
    lb.now = lambda: dt.datetime.now(dt.UTC)  # type: ignore[method-assign]
    flip = itertools.cycle([["worker"], ["worker2"]])  # one holder at a time, never the same one twice running
    lb.holders = lambda service: next(flip)  # type: ignore[method-assign]
    with pytest.raises(InfrastructureError) as caught:
        lb.wait_converged(budget=0.3)
    message = str(caught.value)
    assert message.startswith("every service announced by exactly one node in the LB's lease owner report, the same "
                              f"node for {metallb_kind.STABLE_FOR:g} s: not reached within 0.3 s"), message
    assert "election" not in message and "MetalLB" not in message
    assert "MetalLB's election" in metallb_kind.KindMetalLB.converged_what(lb), "MetalLB's own wait keeps its words"
