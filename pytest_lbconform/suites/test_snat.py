"""SNAT: Cluster hides the client behind a node address; Local keeps the client address and only
the announcing node's backends answer. From both clients."""

import pytest

from pytest_lbconform.report.evidence import attach_burst, check, label
from pytest_lbconform.verdicts.snat import cluster_snat, local_preserves_client

pytestmark = pytest.mark.requires("snat", "owner_report")
CLIENTS = ("mypc", "mypc2")


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.judges("snat-cluster")
def test_cluster_policy_snats_to_a_node_address(request, lb, client, family):
    svc = lb.service("svc1", family)
    label(request, "SNAT", "Cluster: source is a node address", provider=lb.spec.name, mode=lb.mode, eTP="Cluster",
          client=client, family=f"IPv{family}")
    client_ip, nodes = lb.topology.client(client).address(family), lb.node_addresses
    burst = lb.probe(client).http_burst(svc.vip, n=120, concurrency=4)
    attach_burst(request, lb.cfg.report_dir, f"{len(burst.samples)} connections from {client}", burst.samples)
    check(request, cluster_snat(burst.samples, client_ip, nodes), client=client, mode=lb.mode, family=f"IPv{family}")


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.judges("snat-local")
def test_local_policy_keeps_the_client_address(request, lb, client, family):
    svc = lb.service("svc2", family)
    label(request, "SNAT", "Local: client address kept, local backends only", provider=lb.spec.name, mode=lb.mode,
          eTP="Local", client=client, family=f"IPv{family}")
    owner = lb.reported_owner(svc)
    owner_backends = {b.name for b in lb.backends if b.node == owner}
    burst = lb.probe(client).http_burst(svc.vip, n=120, concurrency=4)
    attach_burst(request, lb.cfg.report_dir, f"{len(burst.samples)} connections from {client}", burst.samples)
    verdict = local_preserves_client(burst.samples, lb.topology.client(client).address(family), lb.node_addresses,
                                     owner_backends)
    check(request, verdict, client=client, mode=lb.mode, owner=owner, family=f"IPv{family}")
