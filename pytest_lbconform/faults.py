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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .platforms.base import Host
from .providers.base import NodeOps, Provider

FAULT_KINDS = ("agent-kill", "node-isolate", "node-stop", "node-freeze")


@dataclass
class Injected:
    kind: str
    node: str
    at: float = 0.0  #: time.time() just before the fault took effect
    undone_at: float = 0.0


def inject(kind: str, node: Host, lab: NodeOps, provider: Provider) -> float:
    """Apply ``kind`` to ``node``; return the time it was applied."""
    container = lab.container(node)
    t = time.time()
    if kind == "agent-kill":
        provider.kill_agent(node)
    elif kind == "node-freeze":
        container.pause()
    elif kind == "node-isolate":
        lab.set_link(node, up=False)
    elif kind == "node-stop":
        container.kill()
    else:
        raise ValueError(f"fault {kind!r} is not one of {', '.join(FAULT_KINDS)}")
    return t


def undo(kind: str, node: Host, lab: NodeOps, provider: Provider) -> None:
    """Put ``node`` back as it was before ``kind``."""
    container = lab.container(node)
    if kind == "agent-kill":
        provider.start_agent(node)
    elif kind == "node-freeze":
        container.unpause()
    elif kind == "node-isolate":
        lab.set_link(node, up=True)
    elif kind == "node-stop":
        container.start()
        provider.start_node(node)


@contextmanager
def fault(kind: str, node: Host, lab: NodeOps, provider: Provider) -> Iterator[Injected]:
    """Inject on entry; undo on exit whatever happened in the body."""
    record = Injected(kind, node.short)
    record.at = inject(kind, node, lab, provider)
    try:
        yield record
    finally:
        undo(kind, node, lab, provider)
        record.undone_at = time.time()
