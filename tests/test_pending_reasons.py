"""Why an LB leaves a Service pending, read the way each of them says it (``providers/allocation.pending_reason``):
MetalLB's and PureLB's AllocationFailed event, the service controller's SyncLoadBalancerFailed event
(kube-vip-cloud-provider), Cilium LB-IPAM's Service condition. The vip-pending check needs a reason: without these,
kube-vip's exhausted pool and Cilium's out-of-pool request would fail it although each says why."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_lbconform.providers.allocation import pending_reason

DATA = Path(__file__).parent / "data" / "owner_reports"


def test_allocation_failed_keeps_its_message_as_before():
    events = [{"reason": "Scheduled", "message": "x"},
              {"reason": "AllocationFailed", "message": '"10.9.9.9" does not belong to any group'}]
    assert pending_reason({}, events) == '"10.9.9.9" does not belong to any group'


def test_the_service_controllers_sync_failure_is_a_reason():
    events = [{"reason": "SyncLoadBalancerFailed",
               "message": "Error syncing load balancer: failed to ensure load balancer: no addresses available"}]
    assert pending_reason({}, events) == ("SyncLoadBalancerFailed: Error syncing load balancer: failed to ensure "
                                          "load balancer: no addresses available")


def test_cilium_says_it_in_a_service_condition():
    service = json.loads((DATA / "cilium_service_pending.json").read_text())
    assert pending_reason(service, []) == ("cilium.io/IPAMRequestSatisfied no_pool: There are no enabled "
                                           "CiliumLoadBalancerIPPools that match this service")


def test_a_satisfied_condition_or_silence_is_no_reason():
    satisfied = {"status": {"conditions": [{"type": "cilium.io/IPAMRequestSatisfied", "status": "True",
                                            "reason": "satisfied", "message": ""}]}}
    assert pending_reason(satisfied, []) is None
    assert pending_reason({"status": {}}, [{"reason": "EnsuringLoadBalancer", "message": "Ensuring"}]) is None
