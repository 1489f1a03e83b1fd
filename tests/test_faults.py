"""Each fault applies and undoes the right operation (fakes: no Docker)."""

import pytest

from pytest_lbconform.errors import RestoreError
from pytest_lbconform.faults import FAULT_KINDS, fault, inject
from pytest_lbconform.platforms.base import Host

NODE = Host("c-worker", "worker", "10.0.0.3", "02:00:00:00:00:03", "worker")


class Recorder:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            flag = kwargs.get("up", kwargs.get("cut"))
            self.calls.append((name, flag) if flag is not None else name)
            return self if name == "container" else None
        return call


@pytest.mark.parametrize(("kind", "expected"), [
    ("agent-kill", ["kill_agent", "start_agent"]),
    ("agent-crash", ["crash_agent", "start_agent"]),
    ("node-isolate", [("set_link", False), ("set_link", True)]),
    ("node-stop", ["container", "kill", "container", "start", "start_node"]),
    ("node-freeze", ["container", "pause", "container", "unpause"]),
    ("peer-partition", [("set_partition", True), ("set_partition", False)]),
])
def test_fault_is_undone_even_when_the_body_fails(kind, expected):
    ops = provider = Recorder()
    with pytest.raises(RuntimeError), fault(kind, NODE, ops, provider) as injected:
        raise RuntimeError("check failed mid-fault")
    assert ops.calls == expected and injected.at > 0 and injected.undone_at >= injected.at


def test_every_kind_of_the_design_is_there_and_nothing_else():
    assert set(FAULT_KINDS) == {"agent-kill", "agent-crash", "node-isolate", "node-stop", "node-freeze",
                                "peer-partition"}
    with pytest.raises(ValueError, match="agent-kill, agent-crash, node-isolate, node-stop, node-freeze, peer-partition"):
        inject("node-reboot", NODE, Recorder(), Recorder())


def test_undo_now_inside_the_block_is_not_repeated_on_exit():
    from pytest_lbconform.faults import undo_now

    ops = provider = Recorder()
    with fault("agent-kill", NODE, ops, provider) as injected:
        undo_now(injected, NODE, ops, provider)
        assert injected.undo_started >= injected.at and injected.undone_at >= injected.undo_started
    assert ops.calls == ["kill_agent", "start_agent"]


def test_the_old_data_plane_serves_exactly_where_the_kernel_of_the_victim_survives():
    from pytest_lbconform.faults import FAULTS

    assert {k for k, f in FAULTS.items() if f.old_dataplane_serves} == {"agent-kill", "agent-crash", "node-freeze",
                                                                          "peer-partition"}
    assert {k for k, f in FAULTS.items() if f.victim_backends_reachable} == {"agent-kill", "agent-crash"}


def test_a_partition_cuts_the_node_from_every_peer_both_ways_and_nothing_else():
    from pytest_lbconform.platforms.host_nft import render_partition, table_name

    table = table_name("lbc-ab12", "partition")
    ruleset = render_partition(table, "veth1", ["veth0", "veth2"])
    assert table == "lbconform_partition_lbc_ab12"
    assert 'iifname "veth1" oifname { "veth0", "veth2" } counter drop' in ruleset
    assert 'iifname { "veth0", "veth2" } oifname "veth1" counter drop' in ruleset
    assert ruleset.count("drop") == 2 and "policy accept" in ruleset  # the clients' ports are untouched
    with pytest.raises(ValueError):
        render_partition(table, "veth1", [])


def test_an_undo_that_failed_is_not_run_again_and_its_own_error_surfaces():
    """Seen under load: node-stop's undo started the backend, then failed; the block's exit undid again, the
    second backend found the port taken, and "Address already in use" hid the first failure."""
    from pytest_lbconform.faults import undo_now

    class FailingStart(Recorder):
        def start_node(self, node):
            self.calls.append("start_node")
            raise RuntimeError("keepalived did not start within 30 s")

    ops = provider = FailingStart()
    with pytest.raises(RestoreError, match="undoing node-stop on worker failed: keepalived did not start") as raised, \
            fault("node-stop", NODE, ops, provider) as injected:
        undo_now(injected, NODE, ops, provider)
    assert ops.calls.count("start_node") == 1
    assert isinstance(raised.value.__cause__, RuntimeError) and not isinstance(raised.value.__context__, RestoreError)
    assert injected.undo_started and not injected.undone_at
