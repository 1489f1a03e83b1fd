"""SNAT classification and verdicts."""

from pytest_lbconform.probes.records import Sample
from pytest_lbconform.verdicts.snat import classify, cluster_snat, local_preserves_client

NODES = {"172.18.0.3", "172.18.0.4", "10.10.1.1"}  # kind: a node's pod-network gateway counts as a node address
CLIENT = "172.18.0.100"


def s(remote, backend="webpod1", ok=True):
    return Sample(t=0.0, ok=ok, backend=backend, remote=remote)


def test_classify():
    assert classify(CLIENT, CLIENT, NODES) == "client"
    assert classify("10.10.1.1", CLIENT, NODES) == "node"
    assert classify("8.8.8.8", CLIENT, NODES) == "other"
    assert classify(None, CLIENT, NODES) == "missing"


def test_cluster_passes_when_every_source_is_a_node():
    assert cluster_snat([s("172.18.0.3"), s("10.10.1.1")], CLIENT, NODES).passed


def test_cluster_fails_when_the_client_address_leaks_through():
    verdict = cluster_snat([s("172.18.0.3"), s(CLIENT)], CLIENT, NODES)
    assert not verdict.passed and verdict.category == "SNAT mismatch"


def test_cluster_fails_on_snat_to_a_foreign_address():
    assert not cluster_snat([s("192.0.2.9")], CLIENT, NODES).passed


def test_local_passes_with_client_ip_and_owner_backends_only():
    assert local_preserves_client([s(CLIENT, "webpod2")] * 5, CLIENT, NODES, {"webpod2"}).passed


def test_local_fails_when_masqueraded():
    verdict = local_preserves_client([s("172.18.0.4", "webpod2")], CLIENT, NODES, {"webpod2"})
    assert not verdict.passed and "client address lost" in verdict.measured


def test_local_fails_when_another_nodes_backend_answers():
    assert not local_preserves_client([s(CLIENT, "webpod1")], CLIENT, NODES, {"webpod2"}).passed


def test_local_fails_without_a_local_backend_or_samples():
    assert not local_preserves_client([s(CLIENT, "webpod2")], CLIENT, NODES, set()).passed
    assert not local_preserves_client([s(None, None, ok=False)], CLIENT, NODES, {"webpod2"}).passed


def test_refused_connections_fail_both_policies_although_every_answer_looks_right():
    lossy = [s(CLIENT, "webpod2")] * 80 + [Sample(t=1.0, ok=False, error="ConnectionRefusedError: x")] * 40
    local = local_preserves_client(lossy, CLIENT, NODES, {"webpod2"})
    assert not local.passed and local.category == "connection failures" and "40 of 120" in local.measured
    cluster = cluster_snat([s("172.18.0.3")] * 80 + [Sample(t=1.0, ok=False, error="TimeoutError")] * 40, CLIENT, NODES)
    assert not cluster.passed and cluster.category == "connection failures" and "TimeoutError 40" in cluster.measured
