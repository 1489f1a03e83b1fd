"""The teardown completes when another signal arrives during it (deterministic: the signal is sent from
inside the teardown)."""

from __future__ import annotations

import os
import signal

import pytest

from pytest_lbconform.plugin import _teardown_shielded


class SignalledTeardown:
    """An environment whose teardown receives ``sig`` half-way through its work."""

    def __init__(self, sig: int) -> None:
        self.sig, self.steps = sig, []

    def teardown(self, failed: bool = False) -> None:
        self.steps.append("containers removed")
        os.kill(os.getpid(), self.sig)
        self.steps.append("network removed")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_teardown_is_held_until_it_completed(sig, capsys):
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    env = SignalledTeardown(sig)
    _teardown_shielded(env)  # type: ignore[arg-type]
    assert env.steps == ["containers removed", "network removed"]
    assert capsys.readouterr().err == (f"lbconform: {signal.Signals(sig).name} during teardown: held until the "
                                       "teardown completed\n")
    assert {s: signal.getsignal(s) for s in previous} == previous  # handlers restored


def test_without_the_shield_the_same_signal_stops_the_teardown_half_way():
    env = SignalledTeardown(signal.SIGINT)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            env.teardown()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert env.steps == ["containers removed"]
