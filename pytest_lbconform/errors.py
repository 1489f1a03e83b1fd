"""Errors a user can act on: each renders as one line naming the thing, the value and the fix."""

from __future__ import annotations


class LbconformError(Exception):
    """Base of the errors the plugin turns into one clear line and a nonzero exit."""


class ConfigError(LbconformError):
    """A bad option value (what was given, what is accepted)."""


class EngineUnavailable(LbconformError):
    """No Docker engine answers."""


class ImageBuildError(LbconformError):
    """The lab image could not be built."""


class InfrastructureError(LbconformError):
    """The environment under test could not be set up (not a verdict on the LB)."""


class RestoreError(InfrastructureError):
    """A fault's undo failed: the environment may no longer be as the checks expect it."""
