"""HOW WE BREAK: faults on a node, each with its undo and what it really means.

| fault        | lab                                    | really means                                          |
|--------------|----------------------------------------|-------------------------------------------------------|
| agent-kill   | SIGTERM keepalived (as a pod deletion) | control plane gone gracefully, kernel data plane alive |
| agent-crash  | SIGKILL keepalived (no release)        | what an OOM kill or a crash leaves: addresses stay     |
| node-isolate | host-side veth of the node's eth0 down | cable pull: names, addresses, routes kept              |
| node-stop    | ``docker kill``                        | everything gone (undo restarts and redeploys)          |
| node-freeze  | ``docker pause``                       | userspace frozen, kernel keeps answering and forwarding |
| peer-partition | host bridge rule drops node↔peer frames | peers (kind: API server too) cut off, clients not      |

Each kind states two facts the failover verdicts need: whether the victim's kernel still forwards
what reaches it (then the old data plane may legitimately keep serving until clients move), and
whether backends on the victim stay reachable (else their share of connections fails until the
platform removes them: the degradation the suite reports).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from . import checks
from .errors import RestoreError
from .platforms.base import Host
from .providers.base import NodeOps, Provider

Action = Callable[[Host, NodeOps, Provider], None]


def _restart(node: Host, ops: NodeOps, provider: Provider) -> None:
    ops.container(node).start()
    provider.start_node(node)


@dataclass(frozen=True)
class FaultKind:
    name: str
    apply: Action
    undo: Action
    means: str
    old_dataplane_serves: bool       #: the victim's kernel keeps forwarding traffic that reaches it
    victim_backends_reachable: bool  #: backends on the victim still answer connections forwarded to them


FAULTS: dict[str, FaultKind] = {f.name: f for f in (
    FaultKind("agent-kill", lambda n, ops, lb: lb.kill_agent(n), lambda n, ops, lb: lb.start_agent(n),
              "the agent stops gracefully (pod deletion); the kernel data plane stays", True, True),
    FaultKind("agent-crash", lambda n, ops, lb: lb.crash_agent(n), lambda n, ops, lb: lb.start_agent(n),
              "the agent is SIGKILLed (OOM kill, crash): no graceful release of the VIP", True, True),
    FaultKind("node-isolate", lambda n, ops, lb: ops.set_link(n, up=False), lambda n, ops, lb: ops.set_link(n, up=True),
              "the node's cable is pulled: unreachable, state kept", False, False),
    FaultKind("node-stop", lambda n, ops, lb: ops.container(n).kill(), _restart,
              "the node stops at once: everything on it is gone", False, False),
    FaultKind("node-freeze", lambda n, ops, lb: ops.container(n).pause(), lambda n, ops, lb: ops.container(n).unpause(),
              "the node's userspace freezes; its kernel keeps answering ARP and forwarding", True, False),
    FaultKind("peer-partition", lambda n, ops, lb: ops.set_partition(n, cut=True),
              lambda n, ops, lb: ops.set_partition(n, cut=False),
              "the node and its peers (on kind also the API server) cannot reach each other; clients still reach "
              "every node", True, False),
)}
FAULT_KINDS = checks.FAULT_KINDS
assert tuple(FAULTS) == FAULT_KINDS, "checks.FAULT_KINDS lists every fault, in order"


@dataclass
class Injected:
    kind: str
    node: str
    at: float = 0.0  #: time.time() just before the fault took effect
    undone_at: float = 0.0  #: time.time() once the undo had returned
    undo_started: float = 0.0  #: time.time() just before the undo began


_EPOCH = itertools.count(1)
_epoch = 0


def epoch() -> int:
    """Bumped by every fault and every undo: what was observed in an earlier epoch may no longer hold."""
    return _epoch


def _bump() -> None:
    global _epoch  # noqa: PLW0603 (one process-wide counter: faults change the one topology of this process)
    _epoch = next(_EPOCH)


def inject(kind: str, node: Host, ops: NodeOps, provider: Provider) -> float:
    """Apply ``kind`` to ``node``; return the time it was applied."""
    if kind not in FAULTS:
        raise ValueError(f"fault {kind!r} is not one of {', '.join(FAULT_KINDS)}")
    t = time.time()
    _bump()
    FAULTS[kind].apply(node, ops, provider)
    return t


def undo(kind: str, node: Host, ops: NodeOps, provider: Provider) -> None:
    """Put ``node`` back as it was before ``kind``."""
    _bump()
    try:
        FAULTS[kind].undo(node, ops, provider)
    finally:
        _bump()


@contextmanager
def fault(kind: str, node: Host, ops: NodeOps, provider: Provider) -> Iterator[Injected]:
    """Inject on entry; undo on exit whatever happened in the body (or earlier, with :func:`undo_now`)."""
    record = Injected(kind, node.short)
    record.at = inject(kind, node, ops, provider)
    try:
        yield record
    finally:
        if not record.undo_started:  # an undo that began and failed is not run twice: its own error is the news
            undo_now(record, node, ops, provider)


def undo_now(record: Injected, node: Host, ops: NodeOps, provider: Provider) -> None:
    """Undo the fault of ``record`` inside its ``with`` block (to keep recording through the failback).

    Runs once: when it fails, the block's exit does not undo again (a second node-stop undo found the
    first one's backend already listening and reported "Address already in use", hiding why the first
    failed)."""
    record.undo_started = time.time()
    try:
        undo(record.kind, node, ops, provider)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise RestoreError(f"undoing {record.kind} on {node.short} failed: {first}") from exc
    record.undone_at = time.time()
