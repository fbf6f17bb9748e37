"""The roster: the only people who may log in to a workshop's hub, and who the admins are.

A roster is a CSV file with a header row::

    username,role
    ada,instructor
    grace,learner
    linus

``username`` is required; ``role`` is ``learner`` (the default when the column or the
cell is empty) or ``instructor``/``admin`` (the hub's admins). Other columns (a full
name, an e-mail address) are allowed and ignored, so a spreadsheet export works.

A user name becomes part of Docker names (the learner's Compose project, volumes and
networks), so it is held to what those accept and what JupyterHub keeps unchanged:
lower-case letters, digits, ``-`` and ``_``, starting with a letter, at most 32
characters. Nothing is guessed or rewritten: ``Ada`` and ``ada`` would be one person
to JupyterHub, so the roster must say ``ada``. Every problem in the file is reported at
once, with its line number, in one :class:`~labkit.errors.UsageError`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from labkit.errors import UsageError

__all__ = ["MAX_USERS", "Role", "Roster", "RosterEntry", "load_roster", "parse_roster"]

#: One /24 per learner inside one /16, and more than one machine holds (issue 11).
MAX_USERS = 250
#: The largest roster file read, so a wrong path (a disk image, a log) fails fast.
MAX_BYTES = 1_000_000
USERNAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")


class Role(Enum):
    LEARNER = "learner"
    INSTRUCTOR = "instructor"


_ROLES = {"": Role.LEARNER, "learner": Role.LEARNER, "instructor": Role.INSTRUCTOR}
_ROLES["admin"] = Role.INSTRUCTOR


@dataclass(frozen=True)
class RosterEntry:
    username: str
    role: Role
    line: int  # where it is in the file, for messages

    @property
    def admin(self) -> bool:
        return self.role is Role.INSTRUCTOR


@dataclass(frozen=True)
class Roster:
    entries: tuple[RosterEntry, ...]

    @property
    def usernames(self) -> frozenset[str]:
        return frozenset(e.username for e in self.entries)

    @property
    def admins(self) -> frozenset[str]:
        return frozenset(e.username for e in self.entries if e.admin)

    @property
    def learners(self) -> tuple[RosterEntry, ...]:
        return tuple(e for e in self.entries if not e.admin)

    def __contains__(self, username: object) -> bool:
        return username in self.usernames

    def index(self, username: str) -> int:
        """The user's place in the roster (0-based); it numbers their lab's network."""
        for i, entry in enumerate(self.entries):
            if entry.username == username:
                return i
        raise UsageError(
            f"{username!r} is not on the roster.",
            advice="Add them to the roster file and restart the hub (`labkit hub up`).",
        )


def _why_bad(name: str) -> str | None:
    if not name:
        return "the user name is empty"
    if USERNAME.fullmatch(name):
        return None
    if name.lower() != name and USERNAME.fullmatch(name.lower()):
        return f"{name!r} has capitals: write it as {name.lower()!r}"
    if len(name) > 32:
        return f"{name[:20]!r}... is longer than 32 characters"
    if not name[0].isascii() or not name[0].isalpha():
        return f"{name!r} does not start with a letter"
    return f"{name!r} may only hold a-z, 0-9, '-' and '_'"


def parse_roster(text: str, source: str = "the roster") -> Roster:
    """Read a roster from CSV text; raise one UsageError listing every problem."""
    if "\x00" in text:
        raise UsageError(f"{source} is not a text file.", advice=_FORMAT)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header_at = next((i for i, row in enumerate(rows) if any(c.strip() for c in row)), None)
    if header_at is None:
        raise UsageError(f"{source} is empty.", advice=_FORMAT)
    header = [c.strip().lower() for c in rows[header_at]]
    if "username" not in header:
        raise UsageError(
            f"{source} has no 'username' column (its first line is "
            f"{','.join(rows[header_at])[:80]!r}).",
            advice=_FORMAT,
        )
    col_user = header.index("username")
    col_role = header.index("role") if "role" in header else None
    problems: list[str] = []
    entries: list[RosterEntry] = []
    first_line: dict[str, int] = {}
    for i, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if not any(c.strip() for c in row):
            continue
        name = row[col_user].strip() if col_user < len(row) else ""
        role_text = (
            row[col_role].strip().lower() if col_role is not None and col_role < len(row) else ""
        )
        why = _why_bad(name)
        if why:
            problems.append(f"line {i}: {why}")
            continue
        if role_text not in _ROLES:
            problems.append(f"line {i}: role {role_text!r} is not learner or instructor")
            continue
        if name in first_line:
            problems.append(f"line {i}: {name!r} is already on line {first_line[name]}")
            continue
        first_line[name] = i
        entries.append(RosterEntry(name, _ROLES[role_text], i))
    if not problems and not entries:
        problems.append("it names nobody")
    if len(entries) > MAX_USERS:
        problems.append(f"it names {len(entries)} people; one hub holds at most {MAX_USERS}")
    if problems:
        shown = problems[:20] + (
            [f"... and {len(problems) - 20} more"] if len(problems) > 20 else []
        )
        raise UsageError(f"{source} cannot be used: " + "; ".join(shown) + ".", advice=_FORMAT)
    return Roster(tuple(entries))


def load_roster(path: Path) -> Roster:
    """Read the roster file at ``path`` (UTF-8 CSV); errors say what is wrong with it."""
    try:
        if not path.is_file():
            raise UsageError(
                f"The roster {path} is not a file.",
                advice="Give the CSV file with the participants' user names: "
                "`labkit hub up --roster roster.csv`.",
            )
        if path.stat().st_size > MAX_BYTES:
            raise UsageError(
                f"The roster {path} is larger than {MAX_BYTES // 1000} kB.", advice=_FORMAT
            )
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"Cannot read the roster {path}: {exc.strerror or exc}.") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"The roster {path} is not UTF-8 text.", advice=_FORMAT) from None
    return parse_roster(text, source=f"The roster {path}")


_FORMAT = (
    "A roster is a CSV file with a header line: `username,role`, then one line per person, "
    "e.g. `ada,instructor` and `grace,learner` (role may be left out: learner). User names: "
    "a-z, 0-9, '-' and '_', starting with a letter, at most 32 characters."
)
