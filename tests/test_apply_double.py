"""What the generic provider (``providers/kube_l2_kind.KindKubeL2``) writes itself, for every built-in spec with a
``kubernetes:`` section and the vendor example: its real ``apply``/``apply_all``, ``apply_overrides`` and
``patch_agent_affinity`` through the real kubernetes client (DynamicClient discovery included) against the HTTP
double of ``tests/apply_api_double.py``, each request compared with what ``--plan`` prints. The release manifests
(fetched at run time) are not here. No Docker."""

from __future__ import annotations

import copy
import ipaddress
import json
import re
import shlex
import tempfile
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from pytest_lbconform import plan
from pytest_lbconform.config import from_options
from pytest_lbconform.platforms.base import Host, Topology
from pytest_lbconform.providers import kube_l2, kube_l2_kind
from pytest_lbconform.providers.spec import ProviderSpec, builtin_specs, load_spec
from tests.apply_api_double import ApplyApiDouble, Sent, resource_path
from tests.conftest import ROOT
from tests.kubeconfig_double import write_kubeconfig

EXAMPLE = ROOT / "docs" / "examples" / "acme-l2.yaml"
SPECS: dict[str, ProviderSpec] = {n: s for n, s in builtin_specs().items() if s.kubernetes is not None}
SPECS["acme-l2"] = load_spec(EXAMPLE)
APPLY = "application/apply-patch+yaml"
STRATEGIC = "application/strategic-merge-patch+json"
POOL_SECTION = re.compile(r"^# (?:pool objects|MetalLB L2 objects) \(pool (?P<first>[\d.]+)-(?P<last>[\d.]+)\):\n"
                          r"(?P<docs>.*?)\n# backends and services:", re.S | re.M)
#: a pod template's affinity as an install may leave it: two ORed required terms and more beside them
EXISTING_AFFINITY = {"nodeAffinity": {
    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]},
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["myk8s-worker"]}]}]},
    "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {"matchExpressions": [
        {"key": "lb", "operator": "Exists"}]}}]},
    "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
        "topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "agent"}}}]}}
NO_AGENT = {"key": kube_l2.NO_AGENT_LABEL, "operator": "DoesNotExist"}


def _plan(name: str, tmp_path) -> str:
    option = {"lb_spec": str(EXAMPLE)} if name == "acme-l2" else {"lb": name}
    return plan.render(from_options(tmp_path, plan=True, **option), None)


def _workload(kind: str, namespace: str, name: str, affinity: dict[str, Any] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "agent", "image": "agent:1"}]}
    if affinity is not None:
        spec["affinity"] = copy.deepcopy(affinity)
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def _provider(spec: ProviderSpec, double: ApplyApiDouble, httpserver, tmp_path, monkeypatch, *, subnet: str,
              cluster: str, pool: tuple[str, str]) -> kube_l2_kind.KindKubeL2:
    """KindKubeL2 built as a run builds it, its client talking HTTP to ``double`` (discovery cached under tmp)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # DynamicClient's discovery cache file
    httpserver.expect_request(re.compile(".*")).respond_with_handler(double)
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", httpserver.url_for(""), name="double", token="double")
    nodes = tuple(Host(f"{cluster}-{short}", role, f"172.18.0.{i + 2}", "", short) for i, (short, role) in
                  enumerate([("control-plane", "control-plane"), ("worker", "worker"), ("worker2", "worker")]))
    topology = Topology(cluster, "kind", ipaddress.IPv4Network(subnet), "172.18.0.1", nodes, ())
    return kube_l2_kind.KindKubeL2(spec, SimpleNamespace(), str(kubeconfig), topology, pool, lambda m: None)  # type: ignore[arg-type]


def _server_side_apply(sent: Sent, obj: dict[str, Any], namespace: str | None) -> None:
    meta = obj["metadata"]
    assert (sent.method, sent.content_type) == ("PATCH", APPLY)
    assert sent.query.get("fieldManager") == "lbconform"
    assert sent.query.get("force", "").lower() == "true", "conflicts are forced: the run owns its cluster"
    assert sent.path == resource_path(obj["apiVersion"], obj["kind"], meta["name"], namespace)
    assert sent.body == obj


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_pool_objects_are_applied_server_side_as_the_plan_prints_them(name, httpserver, tmp_path, monkeypatch):
    spec = SPECS[name]
    text = _plan(name, tmp_path)
    found = POOL_SECTION.search(text)
    assert found, "the plan prints the pool objects"
    printed = list(yaml.safe_load_all(found["docs"]))
    subnet = re.search(r"^# kind network subnet: (\S+)", text, re.M)[1]  # type: ignore[index]
    cluster = re.search(r"^# ===== mode \S+: cluster (\S+) =====", text, re.M)[1]  # type: ignore[index]
    double = ApplyApiDouble()
    lb = _provider(spec, double, httpserver, tmp_path, monkeypatch, subnet=subnet, cluster=cluster,
                   pool=(found["first"], found["last"]))
    objects = kube_l2.pool_objects(spec, found["first"], found["last"], subnet, cluster)
    assert objects == printed, "the objects the run applies are those the plan prints"

    lb.apply_all(objects)

    applies = double.applies()
    assert len(applies) == len(objects) == len(double.sent)
    for sent, obj in zip(applies, objects, strict=True):
        namespaced = obj["metadata"].get("namespace") or kube_l2.lb_namespace(spec)
        kind_scope = resource_path(obj["apiVersion"], obj["kind"], "x", "ns").count("/namespaces/") == 1
        _server_side_apply(sent, obj, namespaced if kind_scope else None)
    assert "/version" in double.gets and "/apis" in double.gets, "the real DynamicClient's discovery was read"


def test_the_paths_name_each_lbs_group_version_plural_and_namespace(httpserver, tmp_path, monkeypatch):
    """Spelled out once, so the catalogue's plurals and scopes are not only checked against themselves."""
    paths = {}
    for name, spec in SPECS.items():
        double = ApplyApiDouble()
        (tmp_path / name).mkdir()
        lb = _provider(spec, double, httpserver, tmp_path / name, monkeypatch, subnet="172.18.0.0/16",
                       cluster="myk8s", pool=("172.18.255.200", "172.18.255.250"))
        lb.apply_all(kube_l2.pool_objects(spec, "172.18.255.200", "172.18.255.250", "172.18.0.0/16", "myk8s"))
        paths[name] = [s.path for s in double.sent]
        httpserver.clear()
    assert paths == {
        "metallb": ["/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools/lbconform-pool",
                    "/apis/metallb.io/v1beta1/namespaces/metallb-system/l2advertisements/lbconform-l2"],
        "kube-vip": ["/api/v1/namespaces/kube-system/configmaps/kubevip"],
        "cilium": ["/apis/cilium.io/v2/ciliumloadbalancerippools/lbconform-pool",
                   "/apis/cilium.io/v2alpha1/ciliuml2announcementpolicies/lbconform-l2"],
        "loxilb": ["/apis/loxiurl.loxilb.io/v1/loxiurls/lbconform"],
        "purelb": ["/apis/purelb.io/v2/namespaces/purelb-system/servicegroups/default"],
        "acme-l2": ["/apis/acme.example.com/v1/namespaces/acme-system/acmepools/lbconform-pool"],
    }


@pytest.mark.parametrize("name", [n for n in sorted(SPECS) if kube_l2.section(SPECS[n]).install.namespace])
def test_the_install_namespace_is_applied_server_side(name, httpserver, tmp_path, monkeypatch):
    spec = SPECS[name]
    namespace = kube_l2.section(spec).install.namespace
    double = ApplyApiDouble()
    lb = _provider(spec, double, httpserver, tmp_path, monkeypatch, subnet="172.18.0.0/16", cluster="myk8s",
                   pool=("172.18.255.200", "172.18.255.250"))
    obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    lb.apply(obj)
    [sent] = double.sent
    _server_side_apply(sent, obj, None)
    assert sent.path == f"/api/v1/namespaces/{namespace}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_overrides_are_strategic_merge_patches_as_the_plan_prints_them(name, httpserver, tmp_path,
                                                                          monkeypatch):
    spec = SPECS[name]
    overrides = kube_l2.overrides(spec)
    double = ApplyApiDouble({(f"{o.kind.lower()}s", o.namespace, o.name): _workload(o.kind, o.namespace, o.name, None)
                             for o, _ in overrides})
    lb = _provider(spec, double, httpserver, tmp_path, monkeypatch, subnet="172.18.0.0/16", cluster="myk8s",
                   pool=("172.18.255.200", "172.18.255.250"))
    lb.apply_overrides()
    printed = [shlex.split(line[2:].split("   # sent through the API", 1)[0])
               for line in _plan(name, tmp_path).splitlines() if line.startswith("$ kubectl ")]
    assert len(double.sent) == len(overrides) == len(printed)
    for sent, (override, patch), argv in zip(double.sent, overrides, printed, strict=True):
        assert (sent.method, sent.content_type) == ("PATCH", STRATEGIC)
        assert sent.path == f"/apis/apps/v1/namespaces/{override.namespace}/{override.kind.lower()}s/{override.name}"
        assert sent.body == patch == json.loads(argv[argv.index("-p") + 1])
        assert argv[:7] == ["kubectl", "-n", override.namespace, "patch", override.kind.lower(), override.name,
                            "--type"] and argv[7] == "strategic"
    if name == "loxilb":  # the one built-in spec with overrides: both its workloads, in the spec's order
        assert [s.path.rsplit("/", 2)[1:] for s in double.sent] == [["daemonsets", "loxilb-lb"],
                                                                     ["deployments", "kube-loxilb"]]


@pytest.mark.parametrize("existing", [EXISTING_AFFINITY, None], ids=["with-affinity", "without"])
@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_agent_affinity_patch_keeps_every_existing_term(name, existing, httpserver, tmp_path, monkeypatch):
    """The patch is strategic-merge, and ``nodeSelectorTerms`` has no merge key (the API replaces the list): so the
    patch must carry every existing term, each with NO_AGENT_LABEL DoesNotExist added, and the rest of the affinity.
    Sent for every spec's agent (only Cilium's keep_away is node_label today; the method is the same)."""
    spec = SPECS[name]
    agent = kube_l2.section(spec).agent
    workload = _workload(agent.kind, agent.namespace, agent.name, existing)
    double = ApplyApiDouble({(f"{agent.kind.lower()}s", agent.namespace, agent.name): workload})
    lb = _provider(spec, double, httpserver, tmp_path, monkeypatch, subnet="172.18.0.0/16", cluster="myk8s",
                   pool=("172.18.255.200", "172.18.255.250"))
    lb.patch_agent_affinity()
    path = f"/apis/apps/v1/namespaces/{agent.namespace}/{agent.kind.lower()}s/{agent.name}"
    assert path in double.gets, "the agent workload is read before it is patched"
    [sent] = double.sent
    assert (sent.method, sent.path, sent.content_type) == ("PATCH", path, STRATEGIC)
    affinity = sent.body["spec"]["template"]["spec"]["affinity"]
    terms = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    if existing is None:
        assert terms == [{"matchExpressions": [NO_AGENT]}]
        return
    before = existing["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{**before[0], "matchExpressions": [*before[0]["matchExpressions"], NO_AGENT]},
                     {**before[1], "matchExpressions": [NO_AGENT]}], "every term kept, each also avoiding the label"
    assert affinity["podAntiAffinity"] == existing["podAntiAffinity"]
    assert affinity["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] == \
        existing["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert workload["spec"]["template"]["spec"]["affinity"] == existing, "the object read is not changed in place"
