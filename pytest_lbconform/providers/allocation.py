"""Creating LoadBalancer services and reading what the LB allocated (Kubernetes API, MetalLB annotations)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import InfrastructureError
from ..verdicts.allocation import Allocation
from ..waiting import wait_for
from . import metallb
from .spec import ProviderSpec

NAMESPACE = "lbconform-alloc"
#: the event Kubernetes' service controller records when a cloud provider's EnsureLoadBalancer fails (kube-vip-cloud-
#: provider runs in it: an exhausted pool is reported so); k8s.io/cloud-provider controllers/service/controller.go
SYNC_FAILED = "SyncLoadBalancerFailed"


def pending_reason(service: Mapping[str, Any], events: Iterable[Mapping[str, Any]]) -> str | None:
    """Why the LB left ``service`` without an address, where it says so: MetalLB's and PureLB's ``AllocationFailed``
    event (its message), the service controller's ``SyncLoadBalancerFailed`` event, or a Service condition whose
    status is False (Cilium LB-IPAM ``cilium.io/IPAMRequestSatisfied``, reason ``no_pool``)."""
    events = list(events)
    said = metallb.allocation_failure(events)
    if said is not None:
        return said
    for event in events:
        if event.get("reason") == SYNC_FAILED:
            return f"{SYNC_FAILED}: {event.get('message', '')}"
    for condition in (service.get("status") or {}).get("conditions") or []:
        if condition.get("status") == "False" and (condition.get("reason") or condition.get("message")):
            return f"{condition.get('type')} {condition.get('reason', '')}: {condition.get('message', '')}"
    return None


class Allocator:
    """Services in their own namespace, so the allocation checks never touch svc1..3."""

    def __init__(self, core: Any, spec: ProviderSpec, to_dict: Any = lambda o: o, budget: float = 30.0,
                 namespace: str = NAMESPACE, pool: str | None = None,
                 make_body: Callable[..., dict[str, Any]] | None = None) -> None:
        """``core``: kubernetes' CoreV1Api, or anything with its create/read/delete_namespaced_service and
        list_namespaced_event (a fake in unit tests); ``to_dict`` turns its objects into API dicts. ``namespace``:
        where the services go (an existing cluster: the run's own); ``pool``: the address pool every service asks for
        (an existing cluster may have several: the checks judge one); ``make_body``: the Service for (name,
        requested_ip, sharing_key, port, spec), default MetalLB's annotations."""
        self.core, self.spec, self.to_dict, self.budget = core, spec, to_dict, budget
        self.make_body = make_body or metallb.allocation_service
        self.namespace, self.pool = namespace, pool

    def create(self, name: str, requested_ip: str | None = None, sharing_key: str | None = None,
               port: int = 80, expect_pending: bool = False) -> Allocation:
        """Create the service and wait for an address, or (``expect_pending``) for the LB's reason."""
        body = self.make_body(name, requested_ip, sharing_key, port, self.spec)
        body["metadata"]["namespace"] = self.namespace
        if self.pool:
            key = metallb.annotation(self.spec, "pool")
            body["metadata"]["annotations"] = {**(body["metadata"].get("annotations") or {}), key: self.pool}
        body["spec"]["selector"] = {"app": "lbconform-none"}  # allocation needs no endpoints
        self.core.create_namespaced_service(self.namespace, body)

        def look() -> Allocation:
            svc = self.to_dict(self.core.read_namespaced_service(name, self.namespace))
            events = self.core.list_namespaced_event(self.namespace, field_selector=f"involvedObject.name={name}")
            listed = events["items"] if isinstance(events, dict) else events.items
            items = [self.to_dict(e) for e in listed or []]
            return Allocation(name, metallb.ingress_ip(svc), pending_reason(svc, items))

        def done(allocation: Allocation) -> bool:
            return allocation.ip is not None or (expect_pending and allocation.reason is not None)

        try:
            return wait_for(look, done, budget=self.budget, interval=0.5, what=f"allocation for {name}")
        except InfrastructureError:  # no address and no reason within the budget is itself the answer
            return look()

    def delete(self, name: str) -> None:
        self.core.delete_namespaced_service(name, self.namespace)
