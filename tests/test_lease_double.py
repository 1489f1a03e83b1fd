"""The generic provider's real code (``providers/kube_l2_kind.KindKubeL2``: owner report, agent-kill, agent-crash and
their undo) with the kube-vip and Cilium specs, against the Lease-election model through its API double
(``tests/lease_api_double.py``). The model is a stand-in (``tests/data/lease_model/README.md``): these show the
provider reads and moves what the LB's source says, not how long a real cluster takes. No Docker."""

from __future__ import annotations

import ipaddress
import re
from types import SimpleNamespace

import pytest

from pytest_lbconform.platforms.base import Host, Topology
from pytest_lbconform.providers import kube_l2_kind, metallb_kind
from pytest_lbconform.providers.base import Service
from pytest_lbconform.providers.spec import builtin_specs
from tests.kubeconfig_double import write_kubeconfig
from tests.lease_api_double import LeaseModelApi
from tests.lease_model import Cluster, moment
from tests.test_builtin_specs import model_of

SPECS = builtin_specs()
NAMES = ("kube-vip", "cilium")
SVC1 = Service("svc1", "172.18.255.200", 80, "Cluster")


def _setup(name: str, monkeypatch: pytest.MonkeyPatch, seed: int = 0) -> tuple[kube_l2_kind.KindKubeL2, Cluster,
                                                                              LeaseModelApi]:
    spec = SPECS[name]
    assert spec.kubernetes is not None
    cluster = model_of(spec, seed)
    api = LeaseModelApi(cluster, node_label_keep_away=spec.kubernetes.agent.keep_away == "node_label")
    monkeypatch.setattr(kube_l2_kind.k8s, "CoordinationV1Api", lambda _api: api)
    provider = kube_l2_kind.KindKubeL2.__new__(kube_l2_kind.KindKubeL2)
    provider.spec, provider.kube, provider.core = spec, spec.kubernetes, api  # type: ignore[assignment]
    provider.api, provider._dict = None, lambda o: o  # type: ignore[assignment]
    provider.namespace = spec.kubernetes.agent.namespace
    provider.agent_selector = spec.kubernetes.agent.selector
    provider.app_namespace = cluster.namespace
    provider.topology = Topology(cluster.cluster, "kind", None, "", (), ())  # type: ignore[arg-type]
    return provider, cluster, api


def _host(cluster: Cluster, full: str) -> Host:
    node = cluster.nodes[full]
    return Host(full, node.role, node.ip, node.mac, full.removeprefix(f"{cluster.cluster}-"))


def _wait(provider: kube_l2_kind.KindKubeL2, condition, calls: int = 2000) -> list[str]:
    for _ in range(calls):
        holders = provider.holders(SVC1)
        if condition(holders):
            return holders
    raise AssertionError(f"not reached within {calls} calls: {provider.holders(SVC1)}")


@pytest.mark.parametrize("name", NAMES)
def test_the_provider_reads_the_lease_holder_of_every_service(name, monkeypatch):
    provider, cluster, api = _setup(name, monkeypatch)
    for svc in cluster.services:
        assert provider.holders(Service(svc.name, svc.vip, 80, svc.policy)) == \
            [cluster.holder(svc.name).removeprefix("myk8s-")]
    reads = [n for m, n in api.calls if m == "read_namespaced_lease"]
    expected = {"kube-vip": "default/kubevip-svc1", "cilium": "kube-system/cilium-l2announce-default-svc1"}[name]
    assert reads[0] == expected


@pytest.mark.parametrize("name", NAMES)
def test_agent_kill_moves_the_lease_keeps_the_agent_off_and_the_undo_lets_it_back(name, monkeypatch):
    provider, cluster, _ = _setup(name, monkeypatch)
    old = cluster.holder("svc1")
    node = _host(cluster, old)
    provider.kill_agent(node)
    new = _wait(provider, lambda h: h not in ([], [node.short]))
    assert len(new) == 1 and cluster.arp_responders(SVC1.vip) == [f"myk8s-{new[0]}"]
    cluster.advance(30)
    assert not [p for p in cluster.pods.values() if p.node == old], "the agent came back while kept away"
    provider._let_agent_back(node)
    cluster.advance(10)
    assert [p.node for p in cluster.pods.values() if p.node == old and p.deleted is None] == [old]
    assert provider.holders(SVC1) == new, "no failback: the Lease stays with its holder"


def test_agent_crash_leaves_kube_vips_address_behind_as_its_spec_says(monkeypatch):
    """What ``not_supported: failover:agent-crash`` states, through the provider's own crash: grace 0, kept away."""
    provider, cluster, _ = _setup("kube-vip", monkeypatch)
    old = cluster.holder("svc1")
    provider.crash_agent(_host(cluster, old))
    new = _wait(provider, lambda h: h not in ([], [old.removeprefix("myk8s-")]))
    assert sorted(cluster.arp_responders(SVC1.vip)) == sorted([old, f"myk8s-{new[0]}"])
    assert SPECS["kube-vip"].unsupported("failover:agent-crash") is not None


# -- through the real kubernetes client --------------------------------------------------------------------------------
@pytest.fixture
def real(request, httpserver, tmp_path, monkeypatch):
    """(provider, model, api) for ``request.param`` (a spec name): KindKubeL2 built as a run builds it, talking HTTP to
    the model's double; its waits poll every 10 ms and every request is 0.05 s of model time."""
    monkeypatch.setattr(metallb_kind, "POLL", 0.01)
    monkeypatch.setattr(metallb_kind, "OWNER_POLL", 0.01)
    spec = SPECS[request.param]
    assert spec.kubernetes is not None
    cluster = model_of(spec)
    api = LeaseModelApi(cluster, node_label_keep_away=spec.kubernetes.agent.keep_away == "node_label")
    httpserver.expect_request(re.compile(".*")).respond_with_handler(api)
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", httpserver.url_for(""))
    nodes = tuple(_host(cluster, name) for name in cluster.nodes)
    topology = Topology(cluster.cluster, "kind", ipaddress.IPv4Network("172.18.0.0/16"), "172.18.0.1", nodes, ())
    lb = kube_l2_kind.KindKubeL2(spec, SimpleNamespace(), str(kubeconfig), topology,
                                 ("172.18.255.200", "172.18.255.207"), lambda m: None)
    lb.services = tuple(Service(s.name, s.vip, 80, s.policy) for s in cluster.services)
    lb.app_namespace = cluster.namespace
    lb.now = lambda: moment(cluster.t)  # type: ignore[method-assign]
    return lb, cluster, api


@pytest.mark.parametrize("real", NAMES, indirect=True)
def test_through_the_client_convergence_is_one_stable_holder_per_service_and_agent_kill_moves_it(real):
    lb, cluster, api = real
    owners = lb.wait_converged(budget=60)
    assert owners == {s.name: cluster.holder(s.name).removeprefix("myk8s-") for s in cluster.services}
    victim = lb.topology.node(owners["svc1"])
    lb.kill_agent(victim)
    new = lb.wait_owner(lb.services[0], not_on=victim.short, budget=30)
    assert new != victim.short and cluster.holder("svc1") == f"myk8s-{new}"
    assert cluster.arp_responders(SVC1.vip) == [f"myk8s-{new}"]
    assert ("patch_node", victim.name) in api.calls
    assert [c[0] for c in api.calls if c[0] == "delete_namespaced_pod"] == ["delete_namespaced_pod"]
