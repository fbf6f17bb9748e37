"""Who is learning: a stable, private seed per learner, for shuffling options.

The seed is a random token kept next to the progress file (``learner-id``), made
on first use. It is not a secret and not an identity: it only makes each learner's
option order their own and the same after every reload. ``$LABKIT_LEARNER`` sets it
(a workshop can hand each seat its name).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from labkit.exercises.progress import default_progress_path

__all__ = ["ENV_VAR", "learner_seed"]

ENV_VAR = "LABKIT_LEARNER"


def learner_seed(path: Path | None = None) -> str:
    """This learner's seed: ``$LABKIT_LEARNER``, else the token in ``learner-id``.

    A location that cannot be written gives a seed for this process only; the
    options are then shuffled the same way until the kernel restarts.
    """
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return env
    file = path if path is not None else default_progress_path().parent / "learner-id"
    try:
        seed = file.read_text(encoding="utf-8").strip()
        if seed:
            return seed
    except OSError:
        pass
    seed = secrets.token_hex(8)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with open(file, "x", encoding="utf-8") as out:
            out.write(seed + "\n")
    except FileExistsError:
        return file.read_text(encoding="utf-8").strip() or seed
    except OSError:
        return _PROCESS_SEED
    return seed


_PROCESS_SEED = secrets.token_hex(8)
