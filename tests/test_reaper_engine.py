"""The reaper on the real engine: a live run is never reaped, also when its pid means nothing here
(another PID namespace); a finished run's objects are; a --keep run's are not."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import docker
import pytest

from pytest_lbconform import labels, ownership, reaper
from pytest_lbconform.images import ensure_image
from pytest_lbconform.ownership import Owner

TOKEN_OF_SELF = "from pytest_lbconform import ownership; import sys; print(ownership.me().token, flush=True); " \
                "sys.stdin.read()"


@pytest.fixture
def make_run(docker_client: docker.DockerClient) -> Iterator:
    image = ensure_image(docker_client, "auto", lambda m: None)
    made: list[str] = []

    def make(run_id: str, owner: str, **extra: str) -> str:
        run_id = f"{run_id}-{labels.new_run_id()}"
        made.append(run_id)
        lab = {labels.RUN: run_id, ownership.OWNER: owner, ownership.MACHINE: ownership.machine_id(), **extra}
        docker_client.networks.create(f"lbc-reaptest-{run_id}", labels=lab)
        docker_client.containers.create(image, ["sleep", "1"], name=f"lbc-reaptest-{run_id}", labels=lab)
        return run_id

    yield make
    for run_id in made:
        reaper.remove_run(docker_client, run_id)


def alive(client: docker.DockerClient, run_id: str) -> bool:
    return bool(client.containers.list(all=True, filters={"label": f"{labels.RUN}={run_id}"}))


def token_child(*prefix: str) -> tuple[subprocess.Popen[str], str]:
    """A python process that prints its own owner token and lives until its stdin closes."""
    child = subprocess.Popen([*prefix, sys.executable, "-c", TOKEN_OF_SELF], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    return child, child.stdout.readline().strip()


def test_a_live_run_is_kept_and_the_same_run_is_reaped_once_it_has_ended(docker_client, make_run) -> None:
    child, token = token_child()
    run_id = make_run("live", token)
    try:
        reaper.reap(docker_client)
        assert alive(docker_client, run_id), "a live run's objects were reaped"
    finally:
        child.communicate("")
    out = reaper.reap(docker_client)
    assert not alive(docker_client, run_id) and f"lbc-reaptest-{run_id}" in out.removed


def test_a_run_in_another_pid_namespace_is_never_reaped(docker_client, make_run) -> None:
    # a pytest in a container sharing the engine: its pid is 1 there; here pid 1 is init, or any process
    child, token = token_child("unshare", "--pid", "--fork", "--mount-proc")
    assert Owner.parse(token) is not None and Owner.parse(token).pidns != ownership.me().pidns, token
    run_id = make_run("other-ns", token)
    try:
        out = reaper.reap(docker_client)
        assert alive(docker_client, run_id)
        assert any(run_id in line and "another PID namespace" in line for line in out.left), out.left
    finally:
        child.communicate("")
    assert alive(docker_client, run_id), "reaped after its process ended, although its namespace is not ours"


def test_a_kept_run_outlives_its_process(docker_client, make_run) -> None:
    child, token = token_child()
    child.communicate("")
    kept = make_run("kept", token, **{ownership.KEEP: "1"})
    dead = make_run("dead", token)
    reaper.reap(docker_client)
    assert alive(docker_client, kept) and not alive(docker_client, dead)
