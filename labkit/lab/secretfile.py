"""Secrets labkit keeps on the host (the JupyterLab token), created safely.

A secret file is created with mode 0600 from its first byte (``os.open`` with the
mode, never ``write_text`` then ``chmod``, which leaves it world-readable for a
moment), written to a temporary name and linked into place, so two labkit commands
started together agree on one value and a crash never leaves a half-written secret.
An existing file of labkit's own that others can read is tightened to 0600; one
that is not a regular file, or holds no usable secret, is refused or replaced.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from pathlib import Path

from labkit.errors import SetupError

__all__ = ["read_or_create_secret"]

_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _read(path: Path) -> str | None:
    """The secret in ``path`` (made private if it was not); ``""`` when the file holds
    no usable secret, None when there is no file."""
    try:
        fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SetupError(
            f"Cannot read the secret file {path}: {exc.strerror or exc}.",
            advice=f"Remove it (labkit makes a new one), or fix its permissions: chmod 600 {path}",
        ) from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise SetupError(
            f"The secret file {path} is not a regular file.",
            advice=f"Remove it; labkit makes a new one: rm -r {path}",
        )
    with os.fdopen(fd, "rb") as handle:
        if info.st_mode & 0o077 and hasattr(os, "fchmod"):
            os.fchmod(handle.fileno(), 0o600)  # others could read it: not any more
        value = handle.read(4096).decode("ascii", errors="replace").strip()
    return value if _SECRET_RE.fullmatch(value) else ""


def read_or_create_secret(path: Path) -> str:
    """The secret stored at ``path``, creating it (0600, atomically) when absent."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise SetupError(
            f"Cannot create {path.parent}: {exc.strerror or exc}.",
            advice="Check the permissions of your home directory, or set XDG_STATE_HOME.",
        ) from exc
    existing = _read(path)
    if existing:
        return existing
    value = secrets.token_hex(16)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(value + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        if existing == "":  # present but unusable (empty, guessable, garbage): replace it
            os.replace(tmp, path)
            return value
        try:
            os.link(tmp, path)  # fails if another labkit created it meanwhile
        except FileExistsError:
            theirs = _read(path)
            if theirs:
                return theirs
            os.replace(tmp, path)
        return value
    except OSError as exc:
        raise SetupError(
            f"Cannot write the secret file {path}: {exc.strerror or exc}.",
            advice="Check the permissions of the folder, or set XDG_STATE_HOME.",
        ) from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
