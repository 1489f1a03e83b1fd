"""Errors a user can act on: each renders as one line naming the thing, the value and the fix."""

from __future__ import annotations

#: how many characters of a value an error line shows (a 100k-character value must not fill the terminal)
SHOWN = 80


def shown(value: object, limit: int = SHOWN) -> str:
    """``value`` as an error line shows it: its repr (control characters escaped), cut at ``limit`` characters
    and then followed by its length."""
    text = repr(value)
    if len(text) <= limit:
        return text
    quote = text[0] if text[0] in "'\"" else ""
    size = f" ({len(value)} characters)" if isinstance(value, str) else ""
    return f"{text[:limit]}…{quote}{size}"


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
