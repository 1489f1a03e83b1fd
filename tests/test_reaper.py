"""The reaper lists objects while other runs (xdist workers, concurrent users) remove theirs."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import docker.errors
from docker.models.containers import ContainerCollection

from pytest_lbconform import labels
from pytest_lbconform.platforms.lab import remove_stale


class _Api:
    """Docker API double: lists two containers, the first is gone by the time it is inspected
    (what the clean-clone CI run met: a worker tearing down its lab while the other one listed)."""

    def __init__(self) -> None:
        self.removed: list[str] = []

    def containers(self, **_: Any) -> list[dict[str, str]]:
        return [{"Id": "gone"}, {"Id": "live"}]

    def inspect_container(self, cid: str) -> dict[str, Any]:
        if cid == "gone":
            raise docker.errors.NotFound("No such container: gone")
        return {"Id": cid, "Name": "/other-run-node", "State": {"Status": "running"},
                "Config": {"Labels": {labels.RUN: "r1", labels.OWNER_PID: "1"}}}


def test_a_container_removed_between_list_and_inspect_is_not_an_error() -> None:
    api = _Api()
    client: Any = SimpleNamespace(api=api)
    client.containers = ContainerCollection(client=client)
    client.networks = SimpleNamespace(list=lambda **_: [])
    assert remove_stale(client) == []  # pid 1 is alive: nothing of a live run is reaped
