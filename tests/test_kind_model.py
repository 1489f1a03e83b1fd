"""The kind provider's real code (``providers/metallb_kind.py``, through the real kubernetes client) against the
MetalLB behaviour model (``tests/metallb_model.py``) served by its API double (``tests/metallb_api_double.py``).

Each test here failed on 9a7e0c7's provider: what the provider called settled, or back, was not what MetalLB
converges to. The model is a stand-in (``tests/data/metallb_model/README.md``): these tests show the provider
follows MetalLB's rules, not how long a real cluster takes. No Docker.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

import pytest

from pytest_lbconform.platforms.base import Host, Topology
from pytest_lbconform.providers import metallb, metallb_kind
from pytest_lbconform.providers.base import Service
from pytest_lbconform.providers.metallb_kind import KindMetalLB, timestamp
from pytest_lbconform.providers.spec import builtin_specs
from tests.kubeconfig_double import write_kubeconfig
from tests.metallb_api_double import ModelApi
from tests.metallb_model import Cluster, Svc, Timings, moment

SPEC = builtin_specs()["metallb"]
VECTORS = json.loads((Path(__file__).parent / "data" / "metallb_model" / "election_vectors.json").read_text())
SERVICES = (Service("svc1", "172.18.255.200", 80, "Cluster"), Service("svc2", "172.18.255.201", 80, "Local"),
            Service("svc3", "172.18.255.202", 80, "Cluster"))


def _topology(c: Cluster) -> Topology:
    nodes = tuple(Host(n.name, n.role, n.ip, n.mac, n.name.removeprefix(f"{c.cluster}-")) for n in c.nodes.values())
    return Topology(cluster=c.cluster, network="kind", subnet=ipaddress.IPv4Network("172.18.0.0/16"),
                    gateway="172.18.0.1", nodes=nodes, clients=())


@pytest.fixture
def model(request, httpserver, tmp_path, monkeypatch):
    """(provider, model): the provider's waits poll every 10 ms; every API request is 0.1 s of model time.
    ``@pytest.mark.timings(...)`` sets the model's :class:`Timings`."""
    monkeypatch.setattr(metallb_kind, "POLL", 0.01, raising=False)  # (9a7e0c7 had no such constants)
    monkeypatch.setattr(metallb_kind, "OWNER_POLL", 0.01, raising=False)
    marker = request.node.get_closest_marker("timings")
    cluster = Cluster(timings=Timings(**marker.kwargs) if marker else None)
    api = ModelApi(cluster)
    httpserver.expect_request(re.compile(".*")).respond_with_handler(api)
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", httpserver.url_for(""))
    lb = KindMetalLB(SPEC, api.docker(), str(kubeconfig), _topology(cluster), ("172.18.255.200", "172.18.255.250"),
                     lambda m: None)
    lb.services = SERVICES
    lb.now = lambda: moment(cluster.t)
    return lb, cluster


def _node(lb: KindMetalLB, short: str) -> Host:
    return lb.topology.node(short)


# -- F1: convergence is MetalLB's own answer -----------------------------------------------------------------------
def test_after_node_isolate_convergence_waits_for_the_victim_the_election_puts_first(model):
    """9a7e0c7 returned the interim owner (the only holder when the undo returns); MetalLB gives the VIP back to the
    victim a few seconds later, so the failback verdict and the ARP check judged the wrong owner."""
    lb, c = model
    c.set_link("worker", up=False)
    assert lb.wait_owner(SERVICES[0], not_on="worker", budget=30) == "worker2"
    c.advance(5)
    c.set_link("worker", up=True)  # the undo returns at once
    owners = lb.wait_converged(budget=30)
    assert owners == {"svc1": "worker", "svc2": "worker", "svc3": "worker3"}
    assert c.holders("svc1") == ["myk8s-worker"] and c.arp_responders("172.18.255.200") == ["myk8s-worker"]


def test_after_node_freeze_convergence_is_the_elections_answer_too(model):
    lb, c = model
    c.freeze("worker")
    assert lb.wait_owner(SERVICES[0], not_on="worker", budget=30) == "worker2"
    c.freeze("worker", frozen=False)
    assert lb.wait_converged(budget=30)["svc1"] == "worker"
    assert c.arp_responders("172.18.255.200") == ["myk8s-worker"]


def test_expected_owners_are_the_hash_order_over_live_speakers(model):
    lb, c = model
    assert lb.expected_owners() == {"svc1": "worker", "svc2": "worker", "svc3": "worker3"}
    c.patch_taints("worker", [metallb.speaker_taint()])
    c.delete_pod(next(p.name for p in c.pods.values() if p.node == "myk8s-worker"))
    c.advance(0.1)  # terminating: left memberlist, no longer a candidate
    assert lb.expected_owners()["svc1"] == "worker2"


@pytest.mark.parametrize("case", [c for c in VECTORS["should_announce"] if "nodes" not in c or
                                  not any(m.get("network_unavailable") for m in c["nodes"].values())],
                         ids=lambda c: c["desc"][:50])
def test_the_providers_election_gives_metallbs_own_expected_winner(case):
    """The provider's election (``metallb.elected``) on MetalLB's unit-test vectors: the winner is the node upstream
    expects to answer "" (None when none does)."""
    labels = case.get("service_labels") or {}
    ads = [a for a in case["ads"] if all(labels.get(k) == v for k, v in (a.get("selector") or {}).items())]
    ad_nodes = {n for a in ads for n in a["nodes"]}
    nodes = case.get("nodes") or {}
    excluded = set() if case.get("ignore_exclude") else {n for n, m in nodes.items() if m.get("excluded")}
    speakers = case["speakers"] if case["speakers"] is not None else list(nodes)
    endpoints = [{"nodeName": e["node"], "conditions": {k: e[k] for k in ("ready", "serving") if k in e}}
                 for e in case["endpoints"]]
    winner = metallb.elected(case["ip"], speakers=speakers, policy=case["policy"], endpoints=endpoints,
                             excluded=excluded, ad_nodes=ad_nodes)
    expected = [n for n, answer in case["expected"].items() if answer == ""]
    assert ([winner] if winner else []) == expected, case["desc"]
    if winner:  # a node upstream says does not announce never wins here
        assert case["expected"].get(winner, "") == ""


# -- F2: the agent is back only as a new pod ----------------------------------------------------------------------
def test_start_agent_waits_for_a_new_speaker_pod_not_the_terminating_one(model):
    """9a7e0c7 accepted the deleted pod, still Ready through its 2 s grace period, as "ready again": the undo
    returned before any new speaker existed."""
    lb, c = model
    worker = _node(lb, "worker")
    lb.kill_agent(worker)
    assert lb.wait_owner(SERVICES[0], not_on="worker", budget=30) == "worker2"
    undo = c.t
    lb.start_agent(worker)
    pods = [p for p in c.pods.values() if p.node == "myk8s-worker"]
    assert len(pods) == 1 and pods[0].deleted is None and pods[0].started is not None and pods[0].started >= undo
    assert pods[0].ready
    assert lb.wait_converged(budget=30)["svc1"] == "worker"  # and the election gives it the VIP back


def test_agent_back_names_what_it_sees_while_waiting(model):
    lb, c = model
    worker = _node(lb, "worker")
    lb.kill_agent(worker)
    lb.wait_owner(SERVICES[0], not_on="worker", budget=30)
    since = moment(c.t).replace(microsecond=0)
    why = lb.agent_back(worker, since)
    assert why is not None and "terminating" in why, why


def test_after_a_crash_the_new_pod_is_required_too(model):
    lb, c = model
    worker = _node(lb, "worker")
    lb.crash_agent(worker)  # grace 0: no Leave, the others must suspect it
    assert lb.wait_owner(SERVICES[0], not_on="worker", budget=60) == "worker2"
    undo = c.t
    lb.start_agent(worker)
    pod = next(p for p in c.pods.values() if p.node == "myk8s-worker")
    assert pod.started is not None and pod.started >= undo and pod.ready


# -- F9: node-stop where the node comes back with another address ---------------------------------------------------
#: the dead entry lives on for the whole test (time here passes per API request, so a real-time budget is no bound)
@pytest.mark.timings(gossip_to_dead=3600.0)
def test_a_node_back_with_another_address_is_named_when_convergence_fails(model, monkeypatch):
    """memberlist refuses the restarted speaker's new address (Conflicting address) while its dead entry lives: the
    restarted node and the interim owner both announce, the holders flip, convergence is not reached — and the error
    says why instead of a bare timeout."""
    lb, c = model
    worker = _node(lb, "worker")
    c.kill("worker")
    assert lb.wait_owner(SERVICES[0], not_on="worker", budget=60) == "worker2"
    c.start("worker", ip="172.18.0.9")
    lb.start_node(worker)
    assert lb.address_changes == {"worker": ("172.18.0.3", "172.18.0.9")}
    assert c.arp_responders("172.18.255.200") == ["myk8s-worker", "myk8s-worker2"]  # split brain on the wire
    with pytest.raises(metallb_kind.InfrastructureError) as info:
        lb.wait_converged(budget=1.0)
    assert "worker came back with 172.18.0.9, was 172.18.0.3: memberlist refuses" in str(info.value)


def test_node_back_reads_the_new_boot(model):
    lb, c = model
    c.kill("worker")
    c.advance(3)
    c.start("worker")
    booted = timestamp(moment(c.nodes["myk8s-worker"].booted).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    assert booted is not None
    assert lb.node_back(_node(lb, "worker"), booted) is not None  # the API still shows the previous boot
    lb.start_node(_node(lb, "worker"))
    assert lb.node_back(_node(lb, "worker"), booted) is None and not lb.address_changes


# -- the dual-stack lane: what the provider reads back and waits for ------------------------------------------------
def test_a_dual_stack_deploy_reads_both_vips_the_backends_ipv6_and_converges_on_the_first_addresss_owner(
        httpserver, tmp_path, monkeypatch):
    """The provider's deploy_workload through the real kubernetes client against the model: both ingress addresses
    into Service.vip / vip6, each pod's IPv6 into Backend.ip6, each node's IPv6 pod gateway as its address, and the
    convergence wait settles on the node MetalLB elects by the IPv4 address (the first ingress) — svc1's IPv6 address
    alone would elect another worker, so a provider keyed on it would never settle."""
    from tests.test_metallb_model import _dual

    monkeypatch.setattr(metallb_kind, "POLL", 0.01)
    dual1 = _dual()
    others = [Svc(s.name, s.vip, s.traffic_policy, f"fc00:f853:ccd:e793::ffff:ff{0x10 + i:02x}")
              for i, s in enumerate(SERVICES[1:], start=1)]
    cluster = Cluster(services=(dual1, *others))
    api = ModelApi(cluster)
    httpserver.expect_request(re.compile(".*")).respond_with_handler(api)
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", httpserver.url_for(""))
    lb = KindMetalLB(SPEC, api.docker(), str(kubeconfig), _topology(cluster), ("172.18.255.200", "172.18.255.250"),
                     lambda m: None, pool6=("fc00:f853:ccd:e793::ffff:ff00", "fc00:f853:ccd:e793::ffff:ff32"))
    lb.now = lambda: moment(cluster.t)
    workload = [*metallb.backend_pods(["myk8s-worker", "myk8s-worker2", "myk8s-worker3"]), *metallb.services(dual=True)]
    lb.deploy_workload(workload)
    assert [s["spec"]["ipFamilyPolicy"] for s in api.created if s["kind"] == "Service"] == ["RequireDualStack"] * 3
    assert [(s.name, s.vip, s.vip6) for s in lb.services] == [(s.name, s.vip, s.vip6) for s in cluster.services]
    assert [(b.name, b.node, b.ip, b.ip6) for b in lb.backends] == [
        ("webpod1", "worker", "10.10.1.5", "fd00:10:244:1::5"), ("webpod2", "worker2", "10.10.2.5", "fd00:10:244:2::5"),
        ("webpod3", "worker3", "10.10.3.5", "fd00:10:244:3::5")]
    assert lb.address_owners["fd00:10:244:1::1"] == "worker" and lb.address_owners["10.10.1.1"] == "worker"
    owner = metallb.election_order(["myk8s-worker", "myk8s-worker2", "myk8s-worker3"], dual1.vip)[0]
    assert lb.wait_converged(budget=30)["svc1"] == owner.removeprefix("myk8s-")
    assert cluster.arp_responders(str(dual1.vip6)) == [owner]
