"""wait_for: a stated budget, transient errors retried, every other error at once, the last thing seen named."""

from __future__ import annotations

import pytest

from pytest_lbconform.errors import InfrastructureError
from pytest_lbconform.waiting import wait_for


class Flaky:
    """Raises ``errors`` in turn, then returns ``value``."""

    def __init__(self, errors: list[Exception], value: int) -> None:
        self.errors, self.value, self.calls = list(errors), value, 0

    def __call__(self) -> int:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.value


def test_a_transient_error_is_retried_like_a_value_not_ok_yet():
    probe = Flaky([ConnectionResetError("api server restarting")] * 2, 7)
    assert wait_for(probe, lambda v: v == 7, budget=5, interval=0.01, what="x",
                    transient=lambda e: isinstance(e, ConnectionError)) == 7
    assert probe.calls == 3


def test_without_transient_the_first_error_ends_the_wait():
    """The kind path's old behaviour: one transient ApiException aborted a whole check."""
    probe = Flaky([ConnectionResetError("api server restarting")], 7)
    with pytest.raises(ConnectionResetError):
        wait_for(probe, lambda v: v == 7, budget=5, interval=0.01, what="x")
    assert probe.calls == 1


def test_an_error_that_is_not_transient_ends_the_wait_at_once():
    probe = Flaky([ValueError("422 Unprocessable: spec.addresses invalid")], 7)
    with pytest.raises(ValueError, match="422"):
        wait_for(probe, lambda v: v == 7, budget=5, interval=0.01, what="x",
                 transient=lambda e: isinstance(e, ConnectionError))


def test_the_budget_running_out_on_errors_names_the_last_error():
    probe = Flaky([ConnectionResetError("still restarting")] * 1000, 7)
    with pytest.raises(InfrastructureError) as info:
        wait_for(probe, lambda v: v == 7, budget=0.2, interval=0.01, what="MetalLB ready",
                 transient=lambda e: isinstance(e, ConnectionError))
    assert str(info.value).startswith("MetalLB ready: not reached within 0.2 s (last seen: error ConnectionResetError: "
                                      "still restarting)")


def test_the_budget_running_out_on_values_names_the_last_value():
    with pytest.raises(InfrastructureError, match=r"owner: not reached within 0.1 s \(last seen: \['worker'\]\)"):
        wait_for(lambda: ["worker"], lambda v: v == ["worker2"], budget=0.1, interval=0.01, what="owner")
