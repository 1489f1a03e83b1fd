"""Connecting to the Docker engine with an error that says what to do."""

from __future__ import annotations

import docker
import docker.errors

from .errors import EngineUnavailable


def connect(timeout: int = 60) -> docker.DockerClient:
    """A client for the engine named by DOCKER_HOST (or the default socket), checked with a ping."""
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except docker.errors.DockerException as exc:
        raise EngineUnavailable(
            "no Docker engine answers (DOCKER_HOST or /var/run/docker.sock): "
            f"{_first_line(exc)}; start one (e.g. `dockerd &` as root, or run scripts/setup)"
        ) from exc
    return client


def engine_version(client: docker.DockerClient) -> str:
    """The engine's version string, for the report header."""
    return str(client.version().get("Version", "unknown"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
