"""Writing report files without following links: a file is replaced as a whole (a new file renamed over
the old name), so an existing symlink at that name is replaced, never its target overwritten."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def replace_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically; a symlink at ``path`` is replaced by the file."""
    replace_bytes(path, text.encode("utf-8"))


def replace_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; a symlink at ``path`` is replaced by the file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def append_text(path: Path, text: str) -> bool:
    """Append ``text`` to ``path`` (created when missing); a symlink there is replaced by a new file.
    Returns whether the file was new."""
    if path.is_symlink():
        path.unlink()
    new = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "a", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return new
