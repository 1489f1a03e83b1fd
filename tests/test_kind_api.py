"""The kind provider against API objects of the hard cases, through the real kubernetes client.

A local HTTP server (pytest-httpserver) answers at the API paths the provider calls, with the objects in
``tests/data/kind_api`` (see its README for where their shapes come from). What this proves: what the
provider reports and how long it waits, for each case. What it cannot: how a real MetalLB and kubelet
behave over time — only a run on a real kind cluster shows that.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from werkzeug import Request, Response

from pytest_lbconform.errors import InfrastructureError
from pytest_lbconform.platforms.base import Host, Topology
from pytest_lbconform.providers import metallb, metallb_kind
from pytest_lbconform.providers.base import Service
from pytest_lbconform.providers.metallb_kind import KindMetalLB, timestamp
from pytest_lbconform.providers.spec import builtin_specs

DATA = Path(__file__).parent / "data" / "kind_api"
SPEC = builtin_specs()["metallb"]
L2 = "/apis/metallb.io/v1beta1/namespaces/metallb-system/servicel2statuses"
POOLS = "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools"
NODES = "/api/v1/nodes"
SVC1 = Service("svc1", "172.18.255.200", 80, "Cluster")
#: the restarted victim's container start (Docker: nanoseconds)
BOOTED = "2026-11-28T05:01:25.987654321Z"


def recorded(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def _host(short: str, role: str, n: int) -> Host:
    return Host(f"myk8s-{short}", role, f"172.18.0.{n}", f"02:42:ac:12:00:0{n}", short)


TOPOLOGY = Topology(cluster="myk8s", network="kind", subnet=__import__("ipaddress").IPv4Network("172.18.0.0/16"),
                    gateway="172.18.0.1", clients=(),
                    nodes=(_host("control-plane", "control-plane", 2), _host("worker", "worker", 3),
                           _host("worker2", "worker", 4), _host("worker3", "worker", 5)))


@pytest.fixture
def provider(httpserver, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "kind-myk8s",
        "clusters": [{"name": "kind-myk8s", "cluster": {"server": httpserver.url_for("").rstrip("/")}}],
        "contexts": [{"name": "kind-myk8s", "context": {"cluster": "kind-myk8s", "user": "kind-myk8s"}}],
        "users": [{"name": "kind-myk8s", "user": {"token": "recorded"}}]}))
    docker = SimpleNamespace(containers=SimpleNamespace(
        get=lambda name: SimpleNamespace(attrs={"State": {"StartedAt": BOOTED, "Running": True}})))
    lb = KindMetalLB(SPEC, docker, str(kubeconfig), TOPOLOGY, ("172.18.255.200", "172.18.255.250"), lambda m: None)
    lb.services = (SVC1,)
    return lb


def serve(httpserver, path: str, name: str, status: int = 200, **kw: Any) -> None:
    httpserver.expect_request(path, **kw).respond_with_json(recorded(name), status=status)


# -- the owner report ----------------------------------------------------------------------------
def test_an_older_metallb_that_could_not_move_status_node_still_reports_the_new_leader(httpserver, provider):
    """v0.14.9: the new leader patched its label onto the old object; status.node stayed on the victim.
    Reading status.node first (the old code) reported the victim for ever: every node fault read as
    "no takeover"."""
    serve(httpserver, L2, "l2status_old_release_moved.json")
    serve(httpserver, NODES, "nodes_all_ready.json")
    assert provider.holders(SVC1) == ["worker2"]
    assert provider.wait_owner(SVC1, not_on="worker", budget=2) == "worker2"
    note = provider.announcements()["svc1"].note
    assert note == "status.node myk8s-worker ≠ label myk8s-worker2 (immutable status of an older MetalLB): label used"


def test_a_dangling_status_of_a_notready_node_is_left_out(httpserver, provider):
    serve(httpserver, L2, "l2status_dangling_victim.json")
    serve(httpserver, NODES, "nodes_victim_notready.json")
    serve(httpserver, "/api/v1/namespaces/metallb-system/pods", "speakers_victim_notready.json")
    serve(httpserver, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
          "endpointslices_svc1_victim_notready.json")
    assert provider.holders(SVC1) == ["worker2"]
    # MetalLB's election without the victim (its speaker pod not Ready): worker2 is first for 172.18.255.200
    assert provider.expected_owners() == {"svc1": "worker2"}
    assert provider.wait_converged(budget=2) == {"svc1": "worker2"}
    assert provider.announcements(frozenset({"myk8s-worker"}))["svc1"].note == \
        "left out the object of myk8s-worker (faulted or NotReady)"


def test_a_dangling_status_of_a_node_still_ready_is_reported_and_the_takeover_still_found(httpserver, provider):
    """Within the node-monitor grace period the victim is still Ready: both objects count (two holders,
    no convergence), and the takeover is the one node other than the victim."""
    serve(httpserver, L2, "l2status_dangling_victim.json")
    serve(httpserver, NODES, "nodes_all_ready.json")
    assert provider.holders(SVC1) == ["worker", "worker2"]
    assert provider.wait_owner(SVC1, not_on="worker", budget=2) == "worker2"


def test_when_nothing_moved_the_wait_ends_at_its_budget_naming_what_it_saw(httpserver, provider):
    serve(httpserver, L2, "l2status_victim_only.json")
    serve(httpserver, NODES, "nodes_all_ready.json")
    started = time.monotonic()
    with pytest.raises(InfrastructureError) as info:
        provider.wait_owner(SVC1, not_on="worker", budget=1.0)
    elapsed = time.monotonic() - started
    assert str(info.value) == "svc1 announced by one node other than worker: not reached within 1.0 s (last seen: [])"
    assert 1.0 <= elapsed < 3.0, elapsed


def test_without_any_status_the_events_name_the_announcer(httpserver, provider):
    serve(httpserver, L2, "l2status_empty.json")
    serve(httpserver, NODES, "nodes_all_ready.json")
    serve(httpserver, "/api/v1/namespaces/default/events", "events_nothing_moved.json")
    assert provider.holders(SVC1) == ["worker"]


# -- a node started again ----------------------------------------------------------------------
def _node_api(httpserver, lease: str, node: str, speakers: str) -> None:
    serve(httpserver, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/myk8s-worker", lease)
    serve(httpserver, f"{NODES}/myk8s-worker", node)
    serve(httpserver, "/api/v1/namespaces/metallb-system/pods", speakers)


@pytest.mark.parametrize(("lease", "node", "speakers", "missing"), [
    # Node Ready and a Ready speaker from before the kill: the old start_node returned at once
    ("before", "before", "before", "kubelet lease last renewed 2026-11-28 05:00:58.123456+00:00 "
                                   "(before the restart at 2026-11-28 05:01:25+00:00)"),
    ("after", "after", "before", "speaker not restarted and Ready since 2026-11-28 05:01:25+00:00"),
], ids=["previous-boot", "speaker-not-restarted"])
def test_a_restarted_node_is_not_back_while_the_api_shows_its_previous_boot(httpserver, provider, lease, node,
                                                                           speakers, missing):
    _node_api(httpserver, f"lease_worker_{lease}_restart.json", f"node_worker_{node}_restart.json",
              f"speakers_worker_{speakers}_restart.json")
    booted = timestamp(BOOTED)
    assert booted is not None
    why = provider.node_back(TOPOLOGY.node("worker"), booted)
    assert why is not None and why.startswith(missing), why


def test_a_restarted_node_is_back_with_a_renewed_lease_ready_and_a_restarted_speaker(httpserver, provider):
    _node_api(httpserver, "lease_worker_after_restart.json", "node_worker_after_restart.json",
              "speakers_worker_after_restart.json")
    provider.start_node(TOPOLOGY.node("worker"))  # returns: nothing missing


def test_start_node_waits_its_budget_and_names_what_is_missing(httpserver, provider, monkeypatch):
    monkeypatch.setattr(metallb_kind, "NODE_BACK_BUDGET", 1.0)
    _node_api(httpserver, "lease_worker_before_restart.json", "node_worker_before_restart.json",
              "speakers_worker_before_restart.json")
    started = time.monotonic()
    with pytest.raises(InfrastructureError, match=r"node myk8s-worker back after its restart: not reached within "
                                                  r"1.0 s \(last seen: 'kubelet lease last renewed"):
        provider.start_node(TOPOLOGY.node("worker"))
    assert time.monotonic() - started < 5


# -- API errors ---------------------------------------------------------------------------------
def test_an_invalid_object_is_one_clear_error_at_once(httpserver, provider):
    """The old _create_custom turned every refusal into False: a 422 became a 120 s timeout."""
    serve(httpserver, POOLS, "status_422_invalid_pool.json", status=422, method="POST")
    pool, _advert = metallb.l2_objects("172.18.255.250", "172.18.255.200")
    started = time.monotonic()
    with pytest.raises(InfrastructureError) as info:
        provider.create_metallb_object(pool, budget=30, interval=0.1)
    assert time.monotonic() - started < 5
    assert str(info.value) == ('creating IPAddressPool lbconform-pool: the API refused it (422 UNPROCESSABLE ENTITY): '
                               'admission webhook "ipaddresspoolvalidationwebhook.metallb.io" denied the request: '
                               'invalid CIDR "172.18.255.250-172.18.255.200"')
    assert len(httpserver.log) == 1


def test_a_webhook_not_serving_yet_is_retried_until_it_accepts(httpserver, provider):
    pool, _advert = metallb.l2_objects("172.18.255.200", "172.18.255.250")
    answers = [(recorded("status_500_webhook_not_serving.json"), 500)] * 2 + [(pool, 201)]

    def handler(request: Request) -> Response:
        body, status = answers.pop(0)
        return Response(json.dumps(body), status=status, content_type="application/json")

    httpserver.expect_request(POOLS, method="POST").respond_with_handler(handler)
    provider.create_metallb_object(pool, budget=10, interval=0.05)
    assert len(httpserver.log) == 3 and not answers


def test_a_transient_error_while_listing_does_not_abort_the_wait(httpserver, provider):
    """One 503 from an API server restarting used to end the check."""
    answers = [({"kind": "Status", "code": 503, "message": "the server is currently unable to handle the request"},
                503), (recorded("l2status_old_release_moved.json"), 200)]

    def handler(request: Request) -> Response:
        body, status = answers.pop(0) if answers else (recorded("l2status_old_release_moved.json"), 200)
        return Response(json.dumps(body), status=status, content_type="application/json")

    httpserver.expect_request(L2).respond_with_handler(handler)
    serve(httpserver, NODES, "nodes_all_ready.json")
    assert provider.wait_owner(SVC1, not_on="worker", budget=5) == "worker2"


def test_every_api_call_has_a_request_timeout(httpserver, provider, monkeypatch):
    monkeypatch.setattr(metallb_kind, "REQUEST_TIMEOUT", (1.0, 0.3))

    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response(json.dumps(recorded("nodes_all_ready.json")), content_type="application/json")

    httpserver.expect_request(NODES).respond_with_handler(slow)
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        provider.not_ready_nodes()
    assert time.monotonic() - started < 1.4
    assert metallb_kind.transient_api_error(info.value), repr(info.value)
