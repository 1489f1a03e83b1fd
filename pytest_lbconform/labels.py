"""Labels put on every Docker object a run creates, so that it can be found and removed."""

from __future__ import annotations

import os
import secrets

from . import ownership

PREFIX = ownership.PREFIX  #: every label key of the project starts with it
RUN = f"{PREFIX}.run"          #: run id shared by everything one pytest process created
ROLE = f"{PREFIX}.role"        #: node / client / network
OWNER_PID = f"{PREFIX}.pid"    #: pid of the pytest process (for people; the reaper judges ownership.OWNER)
IMAGE = f"{PREFIX}.image"      #: on lab images (a cache, kept between runs)


def new_run_id() -> str:
    """A short random id; xdist workers add their worker id so names never collide."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return f"{secrets.token_hex(3)}{worker}"


def run_labels(run_id: str, role: str) -> dict[str, str]:
    """The labels of one object created by the run ``run_id``, with its owner's identity (``ownership.py``)."""
    return {RUN: run_id, ROLE: role, OWNER_PID: str(os.getpid()), **ownership.labels()}
