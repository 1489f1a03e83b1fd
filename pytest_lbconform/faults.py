"""HOW WE BREAK: faults on a node of the lab, each with its undo.

| fault        | does                                   | really means                                    |
|--------------|----------------------------------------|-------------------------------------------------|
| agent-kill   | SIGTERM keepalived (as a pod deletion) | control plane gone, kernel data plane alive     |
| node-freeze  | ``docker pause``                       | userspace frozen, kernel keeps forwarding       |
| node-isolate | host-side veth of the node's eth0 down | cable pull: names, addresses, routes kept       |
| node-stop    | ``docker kill``                        | everything gone (undo restarts and redeploys)   |
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .platforms.base import Host
from .providers.base import NodeOps, Provider

Action = Callable[[Host, NodeOps, Provider], None]


def _restart(node: Host, ops: NodeOps, provider: Provider) -> None:
    ops.container(node).start()
    provider.start_node(node)


#: fault kind → (apply, undo)
FAULTS: dict[str, tuple[Action, Action]] = {
    "agent-kill": (lambda n, ops, lb: lb.kill_agent(n), lambda n, ops, lb: lb.start_agent(n)),
    "node-isolate": (lambda n, ops, lb: ops.set_link(n, up=False), lambda n, ops, lb: ops.set_link(n, up=True)),
    "node-stop": (lambda n, ops, lb: ops.container(n).kill(), _restart),
    "node-freeze": (lambda n, ops, lb: ops.container(n).pause(), lambda n, ops, lb: ops.container(n).unpause()),
}
FAULT_KINDS = tuple(FAULTS)


@dataclass
class Injected:
    kind: str
    node: str
    at: float = 0.0  #: time.time() just before the fault took effect
    undone_at: float = 0.0


def inject(kind: str, node: Host, ops: NodeOps, provider: Provider) -> float:
    """Apply ``kind`` to ``node``; return the time it was applied."""
    if kind not in FAULTS:
        raise ValueError(f"fault {kind!r} is not one of {', '.join(FAULT_KINDS)}")
    t = time.time()
    FAULTS[kind][0](node, ops, provider)
    return t


def undo(kind: str, node: Host, ops: NodeOps, provider: Provider) -> None:
    """Put ``node`` back as it was before ``kind``."""
    FAULTS[kind][1](node, ops, provider)


@contextmanager
def fault(kind: str, node: Host, ops: NodeOps, provider: Provider) -> Iterator[Injected]:
    """Inject on entry; undo on exit whatever happened in the body."""
    record = Injected(kind, node.short)
    record.at = inject(kind, node, ops, provider)
    try:
        yield record
    finally:
        undo(kind, node, ops, provider)
        record.undone_at = time.time()
