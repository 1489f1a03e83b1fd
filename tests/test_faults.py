"""Each fault applies and undoes the right operation (fakes: no Docker)."""

import pytest

from pytest_lbconform.faults import FAULT_KINDS, fault, inject
from pytest_lbconform.platforms.base import Host

NODE = Host("c-worker", "worker", "10.0.0.3", "02:00:00:00:00:03", "worker")


class Recorder:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append((name, kwargs.get("up")) if "up" in kwargs else name)
            return self if name == "container" else None
        return call


@pytest.mark.parametrize(("kind", "expected"), [
    ("agent-kill", ["kill_agent", "start_agent"]),
    ("node-isolate", [("set_link", False), ("set_link", True)]),
    ("node-stop", ["container", "kill", "container", "start", "start_node"]),
    ("node-freeze", ["container", "pause", "container", "unpause"]),
])
def test_fault_is_undone_even_when_the_body_fails(kind, expected):
    ops = provider = Recorder()
    with pytest.raises(RuntimeError), fault(kind, NODE, ops, provider) as injected:
        raise RuntimeError("check failed mid-fault")
    assert ops.calls == expected and injected.at > 0 and injected.undone_at >= injected.at


def test_every_kind_of_the_design_is_there_and_nothing_else():
    assert set(FAULT_KINDS) == {"agent-kill", "node-isolate", "node-stop", "node-freeze"}
    with pytest.raises(ValueError, match="agent-kill, node-isolate, node-stop, node-freeze"):
        inject("node-reboot", NODE, Recorder(), Recorder())
