"""Host commands: every failure is one line naming the step, the exit code and what the program said."""

from __future__ import annotations

import sys

import pytest

from pytest_lbconform import hostcmd
from pytest_lbconform.errors import ImageBuildError, InfrastructureError


def test_a_failing_command_names_the_step_the_exit_and_its_last_lines():
    script = "import sys; print('\\n'.join(f'line {i}' for i in range(6)), file=sys.stderr); sys.exit(3)"
    with pytest.raises(InfrastructureError) as info:
        hostcmd.run([sys.executable, "-c", script], "loading the table")
    assert str(info.value) == "loading the table failed (exit 3): line 3 | line 4 | line 5"


def test_a_missing_program_and_a_hang_are_one_line_too():
    with pytest.raises(ImageBuildError, match=r"^debootstrap: no-such-program is not installed \(not on PATH\)$"):
        hostcmd.run(["no-such-program"], "debootstrap", error=ImageBuildError)
    with pytest.raises(InfrastructureError, match=r"^kind version: no answer within 0.2 s$"):
        hostcmd.run([sys.executable, "-c", "import time; time.sleep(5)"], "kind version", timeout=0.2)


def test_without_check_the_exit_code_is_the_callers():
    proc = hostcmd.run([sys.executable, "-c", "import sys; sys.stdout.write('x'); sys.exit(1)"], "probe", check=False)
    assert (proc.returncode, proc.stdout) == (1, "x")


def test_input_reaches_the_program():
    proc = hostcmd.run([sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"], "echo", stdin="table")
    assert proc.stdout.strip() == "TABLE"
