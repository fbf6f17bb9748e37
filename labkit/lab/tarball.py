"""Build small in-memory tar archives: one round trip writes several files on a host."""

from __future__ import annotations

import io
import tarfile
import time


def tar_files(files: dict[str, str], *, mode: int = 0o644, backdate: float = 0.0) -> bytes:
    """A tar archive of ``path -> text`` (paths relative to ``/``), mtimes ``backdate`` s ago."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size = len(data)
            info.mode = mode
            info.mtime = int(time.time() - backdate)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
