"""Connecting to the Docker engine with an error that says what to do."""

from __future__ import annotations

import os
import shutil
import socket

import docker
import docker.errors
import requests.exceptions

from .errors import EngineUnavailable

#: seconds the first exchange with the engine (its API version, then a ping) may take: an engine that accepts
#: the connection and never answers is one line after this long, not after the client's whole timeout
ANSWER_TIMEOUT = 10
#: An engine reached through ``DOCKER_HOST=ssh://``: the docker SDK runs ``docker system dial-stdio`` on the far side
#: for every HTTP connection it opens. Through paramiko all of them are sessions of one ssh connection, and the SDK
#: releases a connection only when its response is collected: sshd's default MaxSessions (10) then answered "no more
#: sessions" in the middle of a run (tests/test_existing_ssh.py, 2 runs of 3, with a pool of 4 as well as of 10).
#: The system ssh client (``use_ssh_client``) gives each connection its own ssh connection, and reads the user's
#: ~/.ssh/config in full (ProxyJump, the agent); paramiko is used only when no ``ssh`` is on PATH.


def connect(timeout: int = 60) -> docker.DockerClient:
    """A client for the engine named by DOCKER_HOST (or the default socket), checked with a ping.

    The check waits at most ``min(timeout, ANSWER_TIMEOUT)`` seconds for each answer; the client then uses
    ``timeout`` for its requests."""
    bound = min(timeout, ANSWER_TIMEOUT)
    try:
        shell_out = os.environ.get("DOCKER_HOST", "").startswith("ssh://") and shutil.which("ssh") is not None
        client = docker.from_env(timeout=bound, use_ssh_client=shell_out)  # asks the engine its API version
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        if _timed_out(exc):
            raise EngineUnavailable(
                f"the Docker engine at {where} did not answer within {bound} s (it accepted the connection); "
                "restart it (e.g. `systemctl restart docker`) or point DOCKER_HOST at one that answers") from exc
        raise EngineUnavailable(
            "no Docker engine answers (DOCKER_HOST or /var/run/docker.sock): "
            f"{_first_line(exc)}; start one (e.g. `dockerd &` as root, or run scripts/setup)"
        ) from exc
    client.api.timeout = timeout
    return client


def engine_version(client: docker.DockerClient) -> str:
    """The engine's version string, for the report header."""
    return str(client.version().get("Version", "unknown"))


def _timed_out(exc: BaseException) -> bool:
    """``exc`` (or what caused it) is a read timeout: the engine took the connection but did not answer."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (requests.exceptions.ReadTimeout, socket.timeout, TimeoutError)):
            return True
        if "Read timed out" in str(seen):  # urllib3 wraps it in a ConnectionError on some paths
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
