"""Telling an infrastructure failure (engine, cluster, exec) from a verdict on the LB, in one line."""

from __future__ import annotations

import docker.errors
import requests.exceptions

from .docker_engine import connect
from .errors import LbconformError

#: exceptions that say the environment failed, not the LB
ERRORS: tuple[type[BaseException], ...] = (LbconformError, docker.errors.DockerException,
                                           requests.exceptions.ConnectionError, requests.exceptions.Timeout)


def one_line(exc: BaseException) -> str:
    """The exception as one line: its type (unless ours, which already read as sentences) and first line."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return first if isinstance(exc, LbconformError) and first else f"{type(exc).__name__}: {first}".rstrip(": ")


def engine_down(timeout: int = 5) -> str | None:
    """None when the Docker engine answers a ping, else why not."""
    try:
        connect(timeout=timeout)
    except LbconformError as exc:
        return one_line(exc)
    return None
