"""Removing what a run made: its own objects at the end, and what runs that are provably over left behind.

A run's containers and networks carry its labels (``labels.py``, ``ownership.py``); a kind cluster has
a labelled marker volume (kind puts no labels of ours on its nodes); host nftables tables are named after
the lab network or kind cluster they filter. :func:`reap` removes the objects of runs that
:func:`ownership.judge` proves dead, kind clusters through their markers, and tables whose network or
cluster no longer exists. It never touches a live run, a ``--keep`` run, or a run it cannot judge
(another host, another PID namespace): those it names, with the command that removes them.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container

from . import hostcmd, labels, ownership
from .errors import InfrastructureError
from .platforms import host_nft
from .waiting import wait_for

KIND_CLUSTER = f"{labels.PREFIX}.kind-cluster"  #: on a kind cluster's marker volume: the cluster's name
KIND_NODE_LABEL = "io.x-k8s.kind.cluster"        #: kind's own label on its node containers


@dataclass
class Reaped:
    removed: list[str] = field(default_factory=list)
    #: runs left alone although their process is not known to be alive: why, and how to remove them
    left: list[str] = field(default_factory=list)


def remove_run(client: docker.DockerClient, run_id: str) -> list[str]:
    """Remove every container and network labelled with ``run_id``; return what was removed.

    Repeats until a pass finds nothing: a create request in flight when Ctrl-C arrived can
    still complete on the daemon after the first pass listed the objects.
    """
    removed: list[str] = []

    def sweep() -> bool:
        """One pass; True when it found nothing left to remove."""
        done, busy = _remove(client, {"label": [f"{labels.RUN}={run_id}"]})
        removed.extend(done)
        return not done and not busy

    wait_for(sweep, bool, budget=30, interval=0.5, what=f"removing the objects of run {run_id}")
    return removed


def remove_session(client: docker.DockerClient, session: str) -> list[str]:
    """Remove what the pytest run ``session`` made that is still there and not kept: under xdist, the labs
    of workers that were killed before their teardown finished (xdist kills a busy worker after 10 s)."""
    runs = {run_id for run_id, lab in _runs(client).items()
            if lab.get(ownership.SESSION) == session and not lab.get(ownership.KEEP)}
    removed: list[str] = []
    for run_id in sorted(runs):
        removed += remove_run(client, run_id)
    return removed


def removal_command(run_id: str) -> str:
    """The shell command that removes a run's containers and networks (printed for people, never run)."""
    flt = f"label={labels.RUN}={run_id}"
    return f"docker rm -f $(docker ps -aq -f {flt}); docker network rm $(docker network ls -q -f {flt})"


def marker_name(cluster: str) -> str:
    return f"{cluster}-lbconform-owner"


def mark_kind_cluster(client: docker.DockerClient, run_id: str, cluster: str) -> None:
    """Label a kind cluster (before it is created) with its run's identity, so a killed run's cluster is reaped."""
    client.volumes.create(name=marker_name(cluster),
                          labels={**labels.run_labels(run_id, "kind-cluster"), KIND_CLUSTER: cluster})


def unmark_kind_cluster(client: docker.DockerClient, cluster: str) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        client.volumes.get(marker_name(cluster)).remove(force=True)


def reap(client: docker.DockerClient, proc: Path = ownership.PROC,
         kind_delete: Callable[[str], str | None] | None = None, host_tables: bool = True) -> Reaped:
    """Remove the objects of every run that is provably over (see the module docstring). ``host_tables`` False: the
    engine is not on this host (``DOCKER_HOST=ssh://…``), so its networks say nothing of this host's nft tables."""
    out = Reaped()
    mine, machine = ownership.me(), ownership.machine_id()
    delete_cluster = kind_delete or _kind_delete
    for run_id, lab in sorted(_runs(client).items()):
        verdict = ownership.judge(lab, mine, machine, proc)
        if verdict.state == "dead":
            for volume in client.volumes.list(filters={"label": [f"{labels.RUN}={run_id}", KIND_CLUSTER]}):
                cluster = volume.attrs.get("Labels", {}).get(KIND_CLUSTER, "")
                problem = delete_cluster(cluster)
                if problem:
                    out.left.append(f"kind cluster {cluster} of run {run_id}: {problem}")
                    continue
                with contextlib.suppress(docker.errors.NotFound):  # another run's reaper removed it meanwhile
                    volume.remove(force=True)
                out.removed.append(f"kind cluster {cluster}")
            out.removed += remove_run(client, run_id)
        elif verdict.state == "unknown":
            out.left.append(f"run {run_id} left alone: {verdict.reason}; if it is over, remove it with: "
                            f"{removal_command(run_id)}")
    if host_tables:
        out.removed += reap_tables(client)
    return out


def reap_tables(client: docker.DockerClient) -> list[str]:
    """Delete lbconform nftables tables whose lab network or kind cluster no longer exists."""
    tables = host_nft.list_tables()
    if not tables:
        return []
    live = {net.name for net in client.networks.list()}
    live |= {c.labels.get(KIND_NODE_LABEL, "") for c in
             client.containers.list(all=True, filters={"label": KIND_NODE_LABEL}, ignore_removed=True)}
    owners = {host_nft.identifier(name) for name in live if name}
    removed = []
    for table in tables:
        cluster = host_nft.cluster_of(table)
        if cluster is not None and cluster not in owners:
            host_nft.delete(table)
            removed.append(f"nft table bridge {table}")
    return removed


def _runs(client: docker.DockerClient) -> dict[str, dict[str, str]]:
    """Run id → the labels of one of its objects (every object of a run carries the same owner)."""
    runs: dict[str, dict[str, str]] = {}
    for container in client.containers.list(all=True, filters={"label": labels.RUN}, ignore_removed=True):
        runs.setdefault(container.labels[labels.RUN], dict(container.labels))
    for obj in [*client.networks.list(filters={"label": labels.RUN}), *client.volumes.list(filters={"label": labels.RUN})]:
        lab = obj.attrs.get("Labels") or {}
        runs.setdefault(lab[labels.RUN], dict(lab))
    return runs


def _kind_delete(cluster: str) -> str | None:
    """``kind delete cluster``; None when done, else why not."""
    if shutil.which("kind") is None:
        return "kind is not on PATH; delete it with: kind delete cluster --name " + cluster
    try:
        hostcmd.run(["kind", "delete", "cluster", "--name", cluster], "kind delete cluster", timeout=300)
    except InfrastructureError as exc:
        return str(exc)
    return None


def _remove(client: docker.DockerClient, filters: dict[str, str | list[str] | bool]) -> tuple[list[str], list[str]]:
    """One removal pass: (removed, still busy). Another run may be removing the same objects (two xdist workers
    reaping one killed run): what it removed first is gone (NotFound), and a network whose last container it is
    still removing answers 409 "has active endpoints" — busy, the next pass removes it."""
    removed: list[str] = []
    busy: list[str] = []

    def remove(container: Container) -> tuple[str, bool] | None:
        """(name, removed) or None when it was gone already."""
        try:
            if container.status == "paused":
                container.unpause()
            container.remove(force=True)
            return str(container.name), True
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: removal already in progress
                raise
            return str(container.name), False

    found = client.containers.list(all=True, filters=filters, ignore_removed=True)
    with ThreadPoolExecutor(max_workers=max(1, min(len(found), 8))) as pool:  # each removal waits on its own kill
        for outcome in pool.map(remove, found):
            if outcome is not None:
                (removed if outcome[1] else busy).append(outcome[0])
    for net in client.networks.list(filters=filters):
        try:
            net.remove()
            removed.append(str(net.name))
        except docker.errors.NotFound:
            continue
        except docker.errors.APIError as exc:
            if exc.status_code != 409 and "active endpoints" not in str(exc):
                raise
            busy.append(str(net.name))
    return removed, busy
