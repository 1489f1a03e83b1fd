"""Writing report files without following links: a file is replaced as a whole (a new file renamed over
the old name), so an existing symlink at that name is replaced, never its target overwritten.

Report files are published (CI artifacts, a web server, a colleague's account): every file written here is
mode 0644 and every directory made here 0755, whatever the umask of the run.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

FILE_MODE = 0o644
DIR_MODE = 0o755


def make_dir(path: Path) -> Path:
    """``path`` and its missing parents, each made here 0755 (not the umask's 0700); returns ``path``."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for made in missing:
        os.chmod(made, DIR_MODE)
    return path


def replace_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically; a symlink at ``path`` is replaced by the file."""
    replace_bytes(path, text.encode("utf-8"))


def replace_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, mode 0644; a symlink at ``path`` is replaced by the file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, FILE_MODE)  # mkstemp makes it 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def append_text(path: Path, text: str) -> bool:
    """Append ``text`` to ``path`` (created when missing, mode 0644); a symlink there is replaced by a new file.
    Returns whether the file was new."""
    if path.is_symlink():
        path.unlink()
    new = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
    if new:
        os.fchmod(fd, FILE_MODE)  # os.open's mode goes through the umask
    with os.fdopen(fd, "a", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return new
