"""Stand-ins for what a KindEnvironment reaches beyond Python (the kind CLI, MetalLB, the slot lock, the clients), so
its wiring is tested without Docker: tests/test_kind_logs.py and tests/test_kind_dual_stack.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import pytest


def stand_in_kind_world(monkeypatch: pytest.MonkeyPatch, cluster: type, provider: type, slot: int = 0,
                        **host: str) -> None:
    """``cluster`` for kind's clusters, ``provider`` for MetalLB, slot ``slot`` without a lock, no nodes, no markers,
    clients described by ``host`` (beside their short name and IPv4 address), no probe agents."""
    from pytest_lbconform import environment
    from pytest_lbconform.platforms import kind
    from pytest_lbconform.providers import metallb_kind

    @contextmanager
    def no_lock() -> Iterator[None]:
        yield

    monkeypatch.setattr(kind, "KindCluster", cluster)
    monkeypatch.setattr(kind, "slot_lock", no_lock)
    monkeypatch.setattr(kind, "free_slot", lambda client: slot)
    monkeypatch.setattr(kind, "nodes", lambda client, name: [])
    monkeypatch.setattr(metallb_kind, "KindMetalLB", provider)
    monkeypatch.setattr(environment, "mark_kind_cluster", lambda *a: None)
    monkeypatch.setattr(environment, "unmark_kind_cluster", lambda *a: None)
    monkeypatch.setattr(environment, "create_host", lambda *a, **k: SimpleNamespace(short=a[5], ip="172.18.0.9",
                                                                                   **host))
    monkeypatch.setattr(environment, "_install_probes", lambda client, hosts: {})
