"""The reaper removes only what runs that are provably over left behind (Docker API doubles; the
real engine is exercised in tests/test_reaper_engine.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import docker.errors
import pytest
from docker.models.containers import ContainerCollection

from pytest_lbconform import labels, ownership, reaper
from pytest_lbconform.ownership import Owner
from pytest_lbconform.platforms import host_nft

ME = ownership.me()


class _Api:
    """Docker API double: lists two containers, the first is gone by the time it is inspected
    (what the clean-clone CI run met: a worker tearing down its lab while the other one listed)."""

    def containers(self, **_: Any) -> list[dict[str, str]]:
        return [{"Id": "gone"}, {"Id": "live"}]

    def inspect_container(self, cid: str) -> dict[str, Any]:
        if cid == "gone":
            raise docker.errors.NotFound("No such container: gone")
        return {"Id": cid, "Name": "/other-run-node", "State": {"Status": "running"},
                "Config": {"Labels": {labels.RUN: "r1", labels.OWNER_PID: "1", ownership.OWNER: ME.token}}}


def test_a_container_removed_between_list_and_inspect_is_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host_nft, "list_tables", list)
    client: Any = SimpleNamespace(api=_Api())
    client.containers = ContainerCollection(client=client)
    client.networks = SimpleNamespace(list=lambda **_: [])
    client.volumes = SimpleNamespace(list=lambda **_: [])
    assert reaper.reap(client).removed == []  # the listed run is alive (this process): nothing reaped


@dataclass
class _Obj:
    """A container, network or volume of the in-memory engine."""

    name: str
    labels: dict[str, str]
    engine: _Engine
    kind: str
    status: str = "running"

    @property
    def attrs(self) -> dict[str, Any]:
        return {"Labels": self.labels}

    def remove(self, **_: Any) -> None:
        if self.engine.busy.get(self.name, 0) > 0:  # another run is still removing its last container
            self.engine.busy[self.name] -= 1
            raise docker.errors.APIError("error while removing network: network has active endpoints",
                                         response=SimpleNamespace(status_code=409, reason="Conflict"))
        self.engine.objects.remove(self)
        self.engine.removed.append(self.name)

    def unpause(self) -> None:
        self.status = "running"


@dataclass
class _Engine:
    objects: list[_Obj] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    busy: dict[str, int] = field(default_factory=dict)  #: name → removals that answer 409 first

    def add(self, kind: str, name: str, lab: dict[str, str]) -> None:
        self.objects.append(_Obj(name, lab, self, kind))

    def _list(self, kind: str, filters: dict[str, Any] | None = None, **_: Any) -> list[_Obj]:
        wanted = (filters or {}).get("label", [])
        wanted = [wanted] if isinstance(wanted, str) else wanted

        def match(o: _Obj) -> bool:
            return all((o.labels.get(k) == v) if sep else (k in o.labels)
                       for k, sep, v in (w.partition("=") for w in wanted))
        return [o for o in self.objects if o.kind == kind and match(o)]

    def client(self) -> Any:
        def get(name: str) -> _Obj:
            found = [o for o in self.objects if o.kind == "volume" and o.name == name]
            if not found:
                raise docker.errors.NotFound(name)
            return found[0]
        return SimpleNamespace(
            containers=SimpleNamespace(list=lambda **kw: self._list("container", **kw)),
            networks=SimpleNamespace(list=lambda **kw: self._list("network", **kw)),
            volumes=SimpleNamespace(list=lambda **kw: self._list("volume", **kw), get=get))


def run_objects(engine: _Engine, run_id: str, owner: Owner, **extra: str) -> None:
    lab = {labels.RUN: run_id, ownership.OWNER: owner.token, ownership.MACHINE: ownership.machine_id(), **extra}
    engine.add("network", f"lbc-{run_id}", lab)
    engine.add("container", f"lbc-{run_id}-worker", lab)


@pytest.fixture
def no_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host_nft, "list_tables", list)


def dead_owner() -> Owner:
    return Owner(ME.boot_id, ME.pidns, 4_000_000, 1)  # beyond pid_max: no such process


@pytest.mark.usefixtures("no_tables")
def test_only_the_dead_run_is_reaped_and_the_undecidable_one_is_named() -> None:
    engine = _Engine()
    run_objects(engine, "live", ME)
    run_objects(engine, "dead", dead_owner())
    run_objects(engine, "kept", dead_owner(), **{ownership.KEEP: "1"})
    run_objects(engine, "other-ns", Owner(ME.boot_id, "1", 4_000_000, 1))
    out = reaper.reap(engine.client())
    assert sorted(out.removed) == ["lbc-dead", "lbc-dead-worker"]
    assert {o.name for o in engine.objects} == {f"lbc-{r}{s}" for r in ("live", "kept", "other-ns")
                                               for s in ("", "-worker")}
    assert len(out.left) == 1 and "run other-ns left alone: it was made in another PID namespace" in out.left[0]
    assert "docker rm -f $(docker ps -aq -f label=io.lbconform.run=other-ns)" in out.left[0]


@pytest.mark.usefixtures("no_tables")
def test_a_dead_runs_kind_cluster_is_deleted_through_its_marker() -> None:
    engine = _Engine()
    lab = {labels.RUN: "k1", ownership.OWNER: dead_owner().token, reaper.KIND_CLUSTER: "lbc-k1-ipvs"}
    engine.add("volume", reaper.marker_name("lbc-k1-ipvs"), lab)
    deleted: list[str] = []
    out = reaper.reap(engine.client(), kind_delete=lambda name: deleted.append(name) or None)
    assert deleted == ["lbc-k1-ipvs"] and "kind cluster lbc-k1-ipvs" in out.removed and not engine.objects


@pytest.mark.usefixtures("no_tables")
def test_a_marker_another_reaper_removed_meanwhile_is_not_an_error() -> None:
    """Seen in a clean-clone CI run: two runs' set-ups reaped the same dead run; the second one's volume removal met
    404 "no such volume" and the set-up errored."""
    engine = _Engine()
    lab = {labels.RUN: "k1", ownership.OWNER: dead_owner().token, reaper.KIND_CLUSTER: "lbc-k1-ipvs"}
    engine.add("volume", reaper.marker_name("lbc-k1-ipvs"), lab)

    def delete_and_race(name: str) -> None:  # the other reaper finishes first
        engine.objects.clear()

    listed = engine.client()
    marker = listed.volumes.list(filters={"label": [f"{labels.RUN}=k1"]})[0]
    marker.remove = lambda **_: (_ for _ in ()).throw(docker.errors.NotFound("no such volume"))
    listed.volumes = SimpleNamespace(list=lambda **_: [marker], get=listed.volumes.get)
    out = reaper.reap(listed, kind_delete=delete_and_race)
    assert "kind cluster lbc-k1-ipvs" in out.removed and not out.left


@pytest.mark.usefixtures("no_tables")
def test_a_kind_cluster_that_cannot_be_deleted_keeps_its_marker() -> None:
    engine = _Engine()
    lab = {labels.RUN: "k1", ownership.OWNER: dead_owner().token, reaper.KIND_CLUSTER: "lbc-k1-ipvs"}
    engine.add("volume", reaper.marker_name("lbc-k1-ipvs"), lab)
    out = reaper.reap(engine.client(), kind_delete=lambda name: "kind is not on PATH")
    assert engine.objects and out.left == ["kind cluster lbc-k1-ipvs of run k1: kind is not on PATH"]


def test_tables_of_a_gone_network_are_deleted_and_live_ones_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _Engine()
    run_objects(engine, "a1b2c3", ME)
    engine.add("container", "lbc-x-ipvs-worker", {"io.x-k8s.kind.cluster": "lbc-x-ipvs"})
    tables = [host_nft.table_name("lbc-a1b2c3", "mutant"), host_nft.table_name("lbc-dead99", "partition"),
              host_nft.table_name("lbc-x-ipvs", "partition"), "someone_elses"]
    deleted: list[str] = []
    monkeypatch.setattr(host_nft, "list_tables", lambda: tables)
    monkeypatch.setattr(host_nft, "delete", deleted.append)
    assert reaper.reap_tables(engine.client()) == ["nft table bridge lbconform_partition_lbc_dead99"]
    assert deleted == ["lbconform_partition_lbc_dead99"]


def test_the_session_sweep_spares_other_sessions_and_kept_objects() -> None:
    engine = _Engine()
    mine = {ownership.SESSION: "s1"}
    run_objects(engine, "w1", ME, **mine)
    run_objects(engine, "w2", ME, **mine, **{ownership.KEEP: "1"})
    run_objects(engine, "x", ME, **{ownership.SESSION: "s2"})
    assert sorted(reaper.remove_session(engine.client(), "s1")) == ["lbc-w1", "lbc-w1-worker"]


def test_a_network_another_reaper_is_still_emptying_is_removed_on_a_later_pass() -> None:
    """Two xdist workers reaping the same killed run: one removes the network while the other still removes
    its last container (409 "active endpoints"). That is not an error; the next pass removes it."""
    engine = _Engine(busy={"lbc-dead": 2})
    run_objects(engine, "dead", dead_owner())
    assert sorted(reaper.remove_run(engine.client(), "dead")) == ["lbc-dead", "lbc-dead-worker"]
    assert not engine.objects
