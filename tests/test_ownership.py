"""Owner tokens and the liveness verdict the reaper acts on: only a provably finished run is dead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_lbconform import ownership
from pytest_lbconform.ownership import KEEP, MACHINE, OWNER, Owner, judge

MINE = Owner("boot-a", "4026531836", os.getpid(), 1000)


def fake_proc(tmp_path: Path, processes: dict[int, int]) -> Path:
    """A /proc with ``pid → start time`` entries; the command name holds a space and a parenthesis."""
    for pid, start in processes.items():
        (tmp_path / str(pid)).mkdir()
        fields = ["S"] + ["0"] * 18 + [str(start)] + ["0"] * 5
        (tmp_path / str(pid) / "stat").write_text(f"{pid} (py test) x) {' '.join(fields)}\n")
    return tmp_path


def labels_of(owner: Owner, machine: str = "m1", **extra: str) -> dict[str, str]:
    return {OWNER: owner.token, MACHINE: machine, **extra}


def test_a_token_survives_the_label_round_trip() -> None:
    assert Owner.parse(MINE.token) == MINE
    for bad in ("", "1234", "a/b/c", "a/b/x/1", "a/b/1/", "/b/1/2", "a/b/1/2/3"):
        assert Owner.parse(bad) is None, bad


def test_the_start_time_is_read_after_the_command_name(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, {42: 777})
    assert ownership.start_time(42, proc) == 777
    assert ownership.start_time(43, proc) is None


def test_this_process_token_is_its_own() -> None:
    me = ownership.me()
    assert me.pid == os.getpid() and me == ownership.owner_of(os.getpid())
    assert judge(labels_of(me), me, "m1").state == "alive"


@pytest.mark.parametrize(("owner", "processes", "machine", "state", "words"), [
    (Owner("boot-a", "4026531836", 42, 777), {42: 777}, "m1", "alive", "is running"),
    (Owner("boot-a", "4026531836", 42, 777), {}, "m1", "dead", "is gone"),
    (Owner("boot-a", "4026531836", 42, 777), {42: 778}, "m1", "dead", "another process"),
    (Owner("boot-b", "4026531836", 42, 777), {42: 777}, "m1", "dead", "earlier boot"),
    (Owner("boot-b", "4026531836", 42, 777), {}, "m2", "unknown", "another host"),
    (Owner("boot-a", "4026532000", 42, 777), {}, "m1", "unknown", "another PID namespace"),
])
def test_liveness(tmp_path: Path, owner: Owner, processes: dict[int, int], machine: str, state: str,
                  words: str) -> None:
    verdict = judge(labels_of(owner, machine), MINE, "m1", fake_proc(tmp_path, processes))
    assert (verdict.state, words in verdict.reason) == (state, True), verdict


def test_a_pid_from_another_namespace_is_never_judged_by_ours(tmp_path: Path) -> None:
    # pid 42 is gone here, but the owner lived in another PID namespace: its 42 may well be running
    other = Owner("boot-a", "4026532000", 42, 777)
    assert judge(labels_of(other), MINE, "m1", fake_proc(tmp_path, {})).state == "unknown"


def test_keep_and_older_objects_are_never_dead(tmp_path: Path) -> None:
    gone = Owner("boot-a", "4026531836", 42, 777)
    assert judge(labels_of(gone, **{KEEP: "1"}), MINE, "m1", fake_proc(tmp_path, {})).state == "kept"
    assert judge({"io.lbconform.pid": "42"}, MINE, "m1", fake_proc(tmp_path, {})).state == "unknown"


def test_without_a_machine_id_an_earlier_boot_cannot_be_proved(tmp_path: Path) -> None:
    owner = Owner("boot-b", "4026531836", 42, 777)
    assert judge(labels_of(owner, ""), MINE, "", fake_proc(tmp_path, {})).state == "unknown"


def test_a_finished_real_process_is_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    token = ownership.owner_of(child.pid)  # the child waits for its stdin to close: it is alive here
    child.communicate()
    assert judge(labels_of(token), ownership.me(), "m1").state == "dead"
