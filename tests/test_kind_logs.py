"""Logs of every mode's cluster on failure (audit F6): a local `pytest --lb=metallb` runs its modes one after another
and deletes a mode's cluster when the next one is made; on 9a7e0c7 a failed iptables check's cluster was deleted
without its logs (only the clusters still there at the end were exported). No Docker: kind, MetalLB and the
clients are stand-ins recording what the environment asks of them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pytest_lbconform import environment, plugin
from pytest_lbconform.config import from_options
from pytest_lbconform.environment import KindEnvironment
from tests.kind_stand_ins import stand_in_kind_world


@pytest.fixture
def env(tmp_path, monkeypatch):
    calls: list[tuple[str, str]] = []

    class Cluster:
        def __init__(self, name, mode, workdir, kind="kind", run=None):
            self.name, self.mode, self.workdir = name, mode, workdir
            self.kubeconfig = workdir / f"kubeconfig-{name}"

        def create(self, image=None):
            calls.append(("create", self.mode))

        def export_logs(self, directory):
            calls.append(("export logs", self.mode))

        def delete(self):
            calls.append(("delete", self.mode))

    class Provider:
        def __init__(self, *args, **kwargs):
            pass

        def deploy(self):
            pass

        def version(self):
            return "v0.16.1"

    stand_in_kind_world(monkeypatch, Cluster, Provider)
    monkeypatch.setattr(environment, "remove_run", lambda client, run_id: None)
    e = KindEnvironment.__new__(KindEnvironment)
    e.cfg = from_options(tmp_path, lb="metallb", proxy_mode="iptables,nftables", plan=True,
                         report_dir=str(tmp_path / "reports"))
    e.client, e.progress, e.kind, e.run_id, e.workdir = None, lambda m: None, "kind", "r1", tmp_path
    e.clusters, e.probes, e.clients, e.image, e.version, e.slot = {}, {}, (), "img", "", 0
    e.failed_modes = set()
    return e, calls


def test_a_failed_modes_cluster_logs_are_exported_before_the_next_mode_replaces_it(env):
    e, calls = env
    e.for_mode("iptables")
    e.mark_failed("iptables")
    e.for_mode("nftables")
    e.teardown(failed=True)
    assert calls == [("create", "iptables"), ("export logs", "iptables"), ("delete", "iptables"),
                     ("create", "nftables"), ("delete", "nftables")]


def test_a_passing_mode_is_deleted_without_an_export(env):
    e, calls = env
    e.for_mode("iptables")
    e.for_mode("nftables")
    e.mark_failed("nftables")
    e.teardown(failed=True)
    assert calls == [("create", "iptables"), ("delete", "iptables"), ("create", "nftables"),
                     ("export logs", "nftables"), ("delete", "nftables")]


def test_the_plugin_tells_the_environment_which_mode_failed(env):
    e, _ = env
    item = SimpleNamespace(callspec=SimpleNamespace(params={"lb": "nftables"}),
                           config=SimpleNamespace(stash={plugin.ENV: e}))
    plugin.note_failed_mode(item, SimpleNamespace(failed=False))
    assert e.failed_modes == set()
    plugin.note_failed_mode(item, SimpleNamespace(failed=True))
    assert e.failed_modes == {"nftables"}
