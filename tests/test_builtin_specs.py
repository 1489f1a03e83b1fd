"""The built-in Kubernetes L2 specs (kube-vip, Cilium, PureLB, LoxiLB): pins as checked in docs/providers-facts.md,
every capability either declared with a reason or "not supported by design" with an upstream source, lease tunings
that client-go accepts, and failover budgets that hold the takeover windows those tunings give — checked both by the
closed-form windows (``providers/lease_timing.py``) and by the Lease-election model run with the spec's own values.
No Docker, no cluster."""

from __future__ import annotations

import ipaddress
import re
from types import SimpleNamespace

import kubernetes_validate
import pytest
import yaml

from pytest_lbconform import checks, plan
from pytest_lbconform.config import from_options
from pytest_lbconform.plugin import missing_capability
from pytest_lbconform.providers import kube_l2
from pytest_lbconform.providers.kube_model import SAMPLE, render_pool
from pytest_lbconform.providers.lease_timing import LeaseTimings, NodeLeaseTimings
from pytest_lbconform.providers.spec import KUBE_L2, ProviderSpec, builtin_specs
from tests.conftest import ROOT
from tests.lease_model import NO_AGENT_LABEL, Cluster, cilium, kube_vip

SPECS = builtin_specs()
#: the specs of issue 26 (MetalLB has a kubernetes: section too, but its own implementation and older declarations)
KUBE_L2_SPECS = [n for n in ("cilium", "kube-vip", "loxilb", "purelb") if n in SPECS]
LEASE_SPECS = [n for n in ("kube-vip", "cilium") if n in SPECS]
FACTS = (ROOT / "docs" / "providers-facts.md").read_text()
LEASE_FAILOVERS = ("node-stop", "node-isolate", "peer-partition")
SLACK = 2.0  #: seconds each budget allows past the mechanism's worst case (a new holder configuring the VIP on kind)


def _seconds(value: object) -> float:
    """A Go duration ("3s", "200ms") or whole seconds ("5") as seconds."""
    text = str(value)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)?", text)
    assert match, f"not a duration: {text!r}"
    return float(match[1]) / (1000 if match[2] == "ms" else 1)


def _values(spec: ProviderSpec) -> dict:
    assert spec.kubernetes is not None and spec.kubernetes.install.helm is not None
    return spec.kubernetes.install.helm.values


def lease_timings(spec: ProviderSpec) -> LeaseTimings:
    """The client-go timings a spec installs: kube-vip's env (whole seconds), Cilium's l2announcements values."""
    values = _values(spec)
    if spec.name == "kube-vip":
        env = values["env"]
        return LeaseTimings(_seconds(env["vip_leaseduration"]), _seconds(env["vip_renewdeadline"]),
                            _seconds(env["vip_retryperiod"]))
    l2 = values["l2announcements"]
    return LeaseTimings(_seconds(l2["leaseDuration"]), _seconds(l2["leaseRenewDeadline"]), _seconds(l2["leaseRetryPeriod"]))


def garp_delay(spec: ProviderSpec) -> float:
    """Seconds from a takeover to the new holder's first GARP: kube-vip's ARP tick, Cilium's at once, PureLB's
    garpConfig initialDelay."""
    values = _values(spec)
    if spec.name == "kube-vip":
        return int(values["env"]["vip_arpRate"]) / 1000
    if spec.name == "purelb":
        return _seconds(values["lbnodeagent"]["garpConfig"]["initialDelay"])
    return 0.0


def model_of(spec: ProviderSpec, seed: int = 0) -> Cluster:
    timings = lease_timings(spec)
    flavor = kube_vip(timings, arp_rate_ms=int(_values(spec)["env"]["vip_arpRate"])) if spec.name == "kube-vip" \
        else cilium(timings)
    return Cluster(flavor, seed=seed)


# -- declarations ------------------------------------------------------------------------------------------------
def test_the_four_lbs_are_built_in_and_driven_by_the_generic_provider():
    assert {"kube-vip", "cilium", "purelb"} <= set(KUBE_L2_SPECS)
    for name in KUBE_L2_SPECS:
        assert SPECS[name].implementation == KUBE_L2 and SPECS[name].builtin


@pytest.mark.parametrize("name", KUBE_L2_SPECS)
def test_every_capability_is_declared_or_not_supported_with_a_source(name):
    spec = SPECS[name]
    unsupported = {n.capability: n for n in spec.not_supported}
    for capability in checks.CAPABILITIES:
        assert (capability in spec.capabilities) != (capability in unsupported), f"{name}: {capability}"
    for entry in unsupported.values():
        assert entry.source.startswith("https://") and len(entry.reason) > 40, entry
    for text in [*spec.reasons.values(), *(n.reason for n in spec.not_supported)]:  # a " #" cut a reason short once
        assert text.count("(") == text.count(")") and not text.endswith((",", "(")), text


@pytest.mark.parametrize("name", KUBE_L2_SPECS)
def test_every_declared_capability_and_budget_says_why(name):
    spec = SPECS[name]
    failovers = {c.split(":", 1)[1] for c in spec.capabilities if c.startswith("failover:")}
    plain = {c for c in spec.capabilities if not c.startswith("failover:")}
    assert set(spec.reasons) == plain | failovers, set(spec.reasons) ^ (plain | failovers)
    assert set(spec.budgets) == failovers


@pytest.mark.parametrize("name", KUBE_L2_SPECS)
def test_the_pinned_release_is_the_one_docs_providers_facts_records(name):
    spec = SPECS[name]
    assert spec.kubernetes is not None
    pinned = spec.kubernetes.install.version
    assert re.search(rf"\*\*v?{re.escape(pinned.lstrip('v'))}\*\*", FACTS), f"{name} {pinned} not in the facts table"
    for url in spec.kubernetes.install.manifests:
        assert "/latest/" not in url and "/main/" not in url, url   # a pinned release, never a moving branch
    helm = spec.kubernetes.install.helm
    if helm is not None:
        assert re.search(rf"\*\*{re.escape(helm.version)}\*\*", FACTS) or helm.version == pinned, helm.version


def test_only_kube_vip_and_purelb_run_kube_proxys_modes():
    assert SPECS["cilium"].modes == {"kind": ("kube-proxy-replacement",), "existing": ("kube-proxy-replacement",)}
    for name in ("kube-vip", "purelb"):
        assert SPECS[name].modes["kind"] == ("iptables", "nftables", "ipvs"), name


def test_cluster_needs():
    cilium_k8s, purelb_k8s = SPECS["cilium"].kubernetes, SPECS["purelb"].kubernetes
    assert cilium_k8s is not None and purelb_k8s is not None
    assert cilium_k8s.cluster.disable_default_cni
    values = _values(SPECS["cilium"])
    assert values["kubeProxyReplacement"] is True and values["l2announcements"]["enabled"] is True
    assert values["k8sServiceHost"] == "{cluster}-control-plane"   # no kube-proxy: the agent needs the API directly
    assert purelb_k8s.cluster.node_sysctls == {"net.ipv4.conf.all.arp_ignore": "1",
                                               "net.ipv4.conf.all.arp_announce": "2"}
    assert _values(SPECS["purelb"])["lbnodeagent"]["garpConfig"]["enabled"] is True   # off by default upstream


def test_agents_are_kept_away_by_what_their_daemonset_honours():
    """Cilium's agent tolerates every taint (Helm default): node affinity; kube-vip's and PureLB's charts install with
    no toleration of the suite's taint (and the kube-vip chart's control-plane toleration removed)."""
    kinds = {n: SPECS[n].kubernetes.agent.keep_away for n in KUBE_L2_SPECS}  # type: ignore[union-attr]
    assert kinds["cilium"] == "node_label"
    assert kinds["kube-vip"] == kinds["purelb"] == "taint"
    assert _values(SPECS["kube-vip"])["tolerations"] == []


# -- objects the run creates ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", KUBE_L2_SPECS)
def test_pool_objects_render_and_hold_the_run_pool(name):
    spec = SPECS[name]
    assert spec.kubernetes is not None
    objects = render_pool(spec.kubernetes.pool.template, SAMPLE)
    first, last = ipaddress.IPv4Address(SAMPLE["pool_start"]), ipaddress.IPv4Address(SAMPLE["pool_end"])
    for obj in objects:
        if obj["apiVersion"] == "v1":
            kubernetes_validate.validate(obj, "1.31", strict=True)
    text = repr(objects)
    assert (str(first) in text and str(last) in text) or SAMPLE["pool_range"] in text, text


def test_cilium_announces_from_workers_only_and_kube_vip_pool_is_global():
    cilium_objects = render_pool(SPECS["cilium"].kubernetes.pool.template, SAMPLE)  # type: ignore[union-attr]
    policy = next(o for o in cilium_objects if o["kind"] == "CiliumL2AnnouncementPolicy")
    assert policy["spec"]["nodeSelector"]["matchExpressions"] == [
        {"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"}]
    assert next(o for o in cilium_objects if o["kind"] == "CiliumLoadBalancerIPPool")["apiVersion"] == "cilium.io/v2"
    kube_vip_objects = render_pool(SPECS["kube-vip"].kubernetes.pool.template, SAMPLE)  # type: ignore[union-attr]
    assert kube_vip_objects[0]["data"] == {"range-global": SAMPLE["pool_range"]}


# -- tunings and budgets ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", LEASE_SPECS)
def test_lease_tunings_are_ones_client_go_accepts_and_never_overlap(name):
    assert lease_timings(SPECS[name]).problems() == []


@pytest.mark.parametrize("name", LEASE_SPECS)
def test_budgets_hold_the_lease_windows_of_the_tunings(name):
    spec = SPECS[name]
    timings, garp = lease_timings(spec), garp_delay(spec)
    for kind in LEASE_FAILOVERS:
        if kind in spec.budgets:
            worst = timings.crash_takeover()[1] + garp
            assert worst + SLACK <= spec.budgets[kind] + 1e-9, (kind, worst, spec.budgets[kind])
            assert spec.budgets[kind] <= worst + SLACK + 1.0, f"{kind}: a budget far above the mechanism hides slowness"
    graceful = timings.graceful_takeover()[1] + garp
    assert graceful <= spec.budgets["agent-kill"], (graceful, spec.budgets["agent-kill"])


def test_purelb_budgets_hold_its_node_lease_window():
    spec = SPECS["purelb"]
    timings = NodeLeaseTimings(_seconds(_values(spec)["leaseConfig"]["leaseDuration"]))
    assert timings.problems() == [] and not timings.split_brain_free
    assert "failover:peer-partition" not in spec.capabilities
    for kind in ("node-stop", "node-isolate"):
        assert timings.crash_takeover()[1] + garp_delay(spec) + SLACK <= spec.budgets[kind]


@pytest.mark.parametrize("name", LEASE_SPECS)
@pytest.mark.parametrize("seed", range(6))
def test_the_model_run_with_the_specs_tunings_fails_over_within_the_budget(name, seed):
    spec = SPECS[name]
    c = model_of(spec, seed)
    old = c.holder("svc1")
    vip = c.services[0].vip
    c.kill(old.split("-", 1)[1])
    died = c.t
    c.run_until(lambda c: c.holder("svc1") not in ("", old) and c.garps_after(vip, died), 60)
    announced = c.garps_after(vip, died)[0].t - died
    assert announced + SLACK <= spec.budgets["node-stop"], announced


@pytest.mark.parametrize("name", LEASE_SPECS)
def test_the_specs_keep_away_mechanism_keeps_the_agent_off_in_the_model(name):
    spec = SPECS[name]
    c = model_of(spec)
    old = c.holder("svc1")
    if spec.kubernetes.agent.keep_away == "node_label":  # type: ignore[union-attr]
        c.patch_affinity([{"key": NO_AGENT_LABEL, "operator": "DoesNotExist"}])   # what the run adds at install
        c.label(old, NO_AGENT_LABEL, "true")
    else:
        c.patch_taints(old, [{"key": "lbconform.io/agent", "effect": "NoSchedule"}])
        c.delete_pod(next(p.name for p in c.pods.values() if p.node == old))
    c.advance(spec.budgets["agent-kill"])
    assert c.holder("svc1") not in ("", old)
    c.advance(30)
    assert not [p for p in c.pods.values() if p.node == old], "the agent came back"
    assert c.arp_responders(c.services[0].vip) == [c.holder("svc1")]


def test_a_not_supported_capability_is_explained_with_its_source():
    cfg = SimpleNamespace(spec=SPECS["kube-vip"])
    text = missing_capability(cfg, ["ipam_pool_only"])  # type: ignore[arg-type]
    assert text.startswith("not supported by design: ipam_pool_only (kube-vip-cloud-provider gives a Service any "
                           "address")
    assert text.endswith("; source: https://github.com/kube-vip/kube-vip-cloud-provider/blob/v0.0.12/pkg/provider/"
                         "loadBalancer.go)")
    metallb = SimpleNamespace(spec=SPECS["metallb"])
    assert "not supported" not in missing_capability(metallb, ["failover:agent-crash"])  # type: ignore[arg-type]


# -- the plan of each --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", KUBE_L2_SPECS)
def test_each_spec_plans_and_every_object_it_would_create_validates(name, tmp_path):
    spec = SPECS[name]
    assert spec.kubernetes is not None
    cfg = from_options(tmp_path, lb=name, plan=True)
    text = plan.render(cfg, None)
    assert text.startswith(f"# plan: lb={name} platform=kind modes={','.join(spec.modes['kind'])}")
    for mode in spec.modes["kind"]:
        assert f"# ===== mode {mode}: cluster lbc-<run>-{mode} =====" in text
    assert text.count("# not supported by design: ") == len(spec.not_supported)
    helm = spec.kubernetes.install.helm
    if helm is not None:
        assert f"$ helm template {helm.release} {helm.chart} --repo {helm.repo} --version {helm.version}" in text
    for url in spec.kubernetes.install.manifests:
        assert f"server-side apply of every object of {url}" in text
    assert text.count("$ kubectl -n ") == len(spec.kubernetes.install.overrides) * len(spec.modes["kind"])
    for block in text.split("# backends and services:\n")[1:]:
        for doc in yaml.safe_load_all(block.split("\n$ ", 1)[0]):
            kubernetes_validate.validate(doc, "1.31", strict=True)
            if doc["kind"] == "Service" and spec.kubernetes.service.load_balancer_class:
                assert doc["spec"]["loadBalancerClass"] == spec.kubernetes.service.load_balancer_class


def test_the_plans_say_what_each_cluster_needs(tmp_path):
    cilium_plan = plan.render(from_options(tmp_path, lb="cilium", plan=True), None)
    assert "kubeProxyMode: none" in cilium_plan and "disableDefaultCNI: true" in cilium_plan
    assert "k8sServiceHost: lbc-<run>-kube-proxy-replacement-control-plane" in cilium_plan
    purelb_plan = plan.render(from_options(tmp_path, lb="purelb", plan=True), None)
    assert "sysctl -w net.ipv4.conf.all.arp_ignore=1" in purelb_plan
    assert "purelb.io/allow-local: 'true'" in purelb_plan   # on svc2 (Local) only
    kube_vip_plan = plan.render(from_options(tmp_path, lb="kube-vip", plan=True), None)
    assert "strictARP: true" in kube_vip_plan and "vip_arpRate: '500'" in kube_vip_plan
    loxilb_plan = plan.render(from_options(tmp_path, lb="loxilb", plan=True), None)
    assert '"--noZoneName"' in loxilb_plan and "kind: LoxiURL" in loxilb_plan


def test_allocation_services_ask_the_way_each_spec_says(tmp_path):
    for name in KUBE_L2_SPECS:
        spec = SPECS[name]
        assert spec.kubernetes is not None
        body = kube_l2.allocation_service("alloc", "172.18.255.210", None, 8080, spec)
        kubernetes_validate.validate(body, "1.31", strict=True)
        requested = spec.kubernetes.service.requested_ip
        assert requested is not None and requested.annotation is not None
        assert body["metadata"]["annotations"][requested.annotation] == "172.18.255.210"
        if "ipam_sharing" in spec.capabilities:
            shared = kube_l2.allocation_service("alloc2", None, "k", 8081, spec)
            kubernetes_validate.validate(shared, "1.31", strict=True)
            assert shared["metadata"]["annotations"][spec.kubernetes.service.sharing_annotation] == "k"
