"""Workload overrides of a spec's install (``kubernetes.install.overrides``): what a release manifest does not set and
a run needs, sent as strategic-merge patches after the install — LoxiLB's kube-loxilb flags, pinned images and
placement. The model, the filled patches, the plan's lines, the calls the provider makes, and the patched objects
validated against the Kubernetes schema. No Docker."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import kubernetes_validate
import pytest
import yaml

from pytest_lbconform.errors import ConfigError
from pytest_lbconform.providers import kube_l2, kube_l2_kind
from pytest_lbconform.providers.owner_readers import http
from pytest_lbconform.providers.spec import builtin_specs, load_spec

SPECS = builtin_specs()
LOXILB = SPECS["loxilb"]
DATA = Path(__file__).parent / "data" / "owner_reports"
GOOD = """\
name: mine
platforms: [kind]
modes: {kind: [iptables]}
capabilities: [arp]
kubernetes:
  install:
    version: v1.0.0
    manifests: ['https://example.com/r/{version}/lb.yaml']
    overrides:
      - kind: Deployment
        namespace: lb-system
        name: controller
        patch: {spec: {template: {spec: {containers: [{name: c, image: 'example.com/c:{version}'}]}}}}
  pool:
    template: |
      apiVersion: example.com/v1
      kind: Pool
      metadata: {name: p}
      spec: {range: '{pool_range}'}
  owner_report:
    lease: {namespace: lb-system, name: 'lb-{service}'}
  agent: {namespace: lb-system, name: agent, selector: app=agent}
"""


def _spec(tmp_path: Path, text: str):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return load_spec(path)


def test_an_override_fills_the_version(tmp_path):
    spec = _spec(tmp_path, GOOD)
    [(override, patch)] = kube_l2.overrides(spec)
    assert (override.kind, override.namespace, override.name) == ("Deployment", "lb-system", "controller")
    assert patch["spec"]["template"]["spec"]["containers"][0]["image"] == "example.com/c:v1.0.0"
    assert "{version}" in json.dumps(override.patch)  # the spec itself is left as written


@pytest.mark.parametrize(("change", "message"), [
    ("image: 'example.com/c:{version}'", None),
    ("image: 'example.com/c:{pool_range}'", "unknown placeholder {pool_range}; accepted: {version}"),
    ("kind: StatefulSet", "kubernetes.install.overrides.0.kind"),
])
def test_bad_overrides_are_one_line(tmp_path, change, message):
    text = GOOD.replace("image: 'example.com/c:{version}'", change) if change.startswith("image") else \
        GOOD.replace("kind: Deployment", change)
    if message is None:
        _spec(tmp_path, text)
        return
    with pytest.raises(ConfigError) as err:
        _spec(tmp_path, text)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_an_empty_patch_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="patch"):
        _spec(tmp_path, GOOD.replace("patch: {spec: {template: {spec: {containers: [{name: c, image: 'example.com/c:"
                                     "{version}'}]}}}}", "patch: {}"))


def test_the_plan_shows_each_override_as_the_kubectl_patch_it_amounts_to():
    [(first, patch), _] = kube_l2.overrides(LOXILB)
    argv = kube_l2.override_command(first, patch)
    assert argv[:8] == ["kubectl", "-n", "kube-system", "patch", "daemonset", "loxilb-lb", "--type", "strategic"]
    assert json.loads(argv[-1]) == patch


def test_the_provider_sends_each_patch_to_its_workload(monkeypatch):
    sent: list[tuple[str, str, str, dict[str, Any]]] = []
    apps = SimpleNamespace(
        patch_namespaced_daemon_set=lambda name, ns, body: sent.append(("DaemonSet", name, ns, body)),
        patch_namespaced_deployment=lambda name, ns, body: sent.append(("Deployment", name, ns, body)))
    provider = kube_l2_kind.KindKubeL2.__new__(kube_l2_kind.KindKubeL2)
    provider.spec, provider.kube, provider.apps = LOXILB, LOXILB.kubernetes, apps  # type: ignore[assignment]
    provider.progress = lambda text: None  # type: ignore[method-assign]
    provider.apply_overrides()
    assert [(k, n, ns) for k, n, ns, _ in sent] == [("DaemonSet", "loxilb-lb", "kube-system"),
                                                    ("Deployment", "kube-loxilb", "kube-system")]
    kube_loxilb = sent[1][3]["spec"]["template"]["spec"]["containers"][0]
    assert {"--noZoneName", "--setUniqueIP", "--setRoles=0.0.0.0"} <= set(kube_loxilb["args"])
    assert sent[0][3]["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/loxilb-io/loxilb:v0.9.8.8"


def _merged(kind: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
    """A minimal workload of ``kind`` with ``patch`` merged strategically (containers by name, lists replaced)."""
    labels = {"app": name}
    obj: dict[str, Any] = {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": "kube-system"},
                           "spec": {"selector": {"matchLabels": labels}, "template": {
                               "metadata": {"labels": labels},
                               "spec": {"containers": [{"name": c["name"], "image": "example.com/x:latest"}
                                                       for c in patch["spec"]["template"]["spec"]["containers"]]}}}}

    def merge(base: Any, change: Any, key: str = "") -> Any:
        if isinstance(base, dict) and isinstance(change, dict):
            out = dict(base)
            for k, v in change.items():
                out[k] = merge(base.get(k), v, k)
            return out
        if key == "containers" and isinstance(base, list):
            by_name = {c["name"]: c for c in base}
            return [merge(by_name.get(c["name"], {}), c) for c in change]
        return copy.deepcopy(change)

    return merge(obj, patch)


@pytest.mark.parametrize("index", [0, 1])
def test_the_patched_workloads_validate_strictly(index):
    override, patch = kube_l2.overrides(LOXILB)[index]
    kubernetes_validate.validate(_merged(override.kind, override.name, patch), "1.31", strict=True)


def test_loxilbs_owner_report_reads_the_master_from_the_agents_answers():
    report = LOXILB.kubernetes.owner_report.http  # type: ignore[union-attr]
    assert report is not None
    answers = {"myk8s-worker": json.loads((DATA / "loxilb_cistate_backup.json").read_text()),
               "myk8s-worker2": json.loads((DATA / "loxilb_cistate_master.json").read_text()),
               "myk8s-worker3": None}
    found = http.holders(answers, report)
    assert found.nodes == ("myk8s-worker2",) and found.note == "no answer from myk8s-worker3"
    assert http.holders({"myk8s-worker": json.loads((DATA / "loxilb_cistate_empty.json").read_text())}, report).nodes == ()


def test_loxilb_runs_its_agents_on_workers_and_kube_loxilb_on_the_control_plane():
    """The suite faults the MASTER: a loxilb on the control plane could be made MASTER (and faulting it takes the API
    down), and kube-loxilb, one replica, must not sit on a node the suite faults."""
    [(_, ds), (_, dep)] = kube_l2.overrides(LOXILB)
    term = ds["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["nodeSelectorTerms"] == [{"matchExpressions": [
        {"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"}]}]
    assert dep["spec"]["template"]["spec"]["nodeSelector"] == {"node-role.kubernetes.io/control-plane": ""}
    manifests = LOXILB.kubernetes.install.manifests  # type: ignore[union-attr]
    assert all("/v0.9.8.4/" in url for url in manifests)
    assert yaml.safe_load(LOXILB.kubernetes.pool.template.replace("{pool_range}", "a-b"))["spec"]["type"] == "cidrpool"  # type: ignore[union-attr]
