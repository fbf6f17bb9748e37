"""A dialog with a server, kept line by line so it can be shown the way the blog did.

The blog's legend: ``$`` is a shell command, ``>`` a line sent to the server, and
everything else (indented two spaces) is what came back::

    $ telnet mail.zimmerman.io 25
      Trying 107.170.7.111...
      Connected to metagross.zimmerman.io.
      220 ************************************
    > EHLO [206.71.229.162]
      250-metagross

Secrets never enter a transcript: the SMTP probe redacts them before recording.
"""

from __future__ import annotations

import enum
import html
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = ["Direction", "Transcript", "TranscriptLine", "printable"]


class Direction(enum.StrEnum):
    """Who produced a line: the shell prompt, the client, the server, or a client-side note."""

    SHELL = "shell"
    CLIENT = "client"
    SERVER = "server"
    NOTE = "note"


_PREFIX = {
    Direction.SHELL: "$ ",
    Direction.CLIENT: "> ",
    Direction.SERVER: "  ",
    Direction.NOTE: "  ",
}
_STYLE = {
    Direction.SHELL: "color:#2e7d32",
    Direction.CLIENT: "color:#1565c0;font-weight:bold",
    Direction.SERVER: "",
    Direction.NOTE: "color:#757575;font-style:italic",
}


@dataclass(frozen=True)
class TranscriptLine:
    direction: Direction
    text: str

    def render(self) -> str:
        return _PREFIX[self.direction] + self.text


@dataclass(frozen=True)
class Transcript:
    """An immutable sequence of :class:`TranscriptLine` with text and HTML views."""

    lines: tuple[TranscriptLine, ...] = ()

    def __len__(self) -> int:
        return len(self.lines)

    def __iter__(self) -> Iterator[TranscriptLine]:
        return iter(self.lines)

    def __str__(self) -> str:
        return self.render_text()

    def render_text(self) -> str:
        """The dialog in the blog's notation, one line per line."""
        return "\n".join(line.render() for line in self.lines)

    def render_html(self) -> str:
        """The same dialog as an escaped ``<pre>`` block; client lines stand out."""
        body = []
        for line in self.lines:
            style = _STYLE[line.direction]
            attr = f' style="{style}"' if style else ""
            body.append(
                f'<span class="labkit-{line.direction.value}"{attr}>'
                f"{html.escape(line.render())}</span>"
            )
        return '<pre class="labkit-transcript">' + "\n".join(body) + "</pre>"

    def _repr_html_(self) -> str:
        return self.render_html()

    def excerpt(self, *needles: str, context: int = 0) -> str:
        """The lines that contain any of ``needles`` (plus ``context`` lines before), as
        text: the evidence the doctor quotes. Falls back to the last few lines."""
        hits: set[int] = set()
        for i, line in enumerate(self.lines):
            if any(n.lower() in line.text.lower() for n in needles):
                hits.update(range(max(0, i - context), i + 1))
        chosen = sorted(hits) if hits else list(range(max(0, len(self.lines) - 4), len(self.lines)))
        return "\n".join(self.lines[i].render() for i in chosen)

    def server_text(self) -> str:
        return "\n".join(line.text for line in self.lines if line.direction is Direction.SERVER)


#: What a transcript keeps at most. A real dialog is under 100 lines; a server that
#: sends endless lines must not make a probe's result grow without bound.
MAX_TRANSCRIPT_LINES = 1000
MAX_TRANSCRIPT_CHARS = 256 * 1024


@dataclass
class TranscriptBuilder:
    """Mutable while a probe runs; :meth:`freeze` gives the immutable :class:`Transcript`.

    Keeps at most ``max_lines`` lines and ``max_chars`` characters; what comes after
    is counted, and :meth:`freeze` ends with a note saying how much was left out.
    """

    lines: list[TranscriptLine] = field(default_factory=list)
    max_lines: int = MAX_TRANSCRIPT_LINES
    max_chars: int = MAX_TRANSCRIPT_CHARS
    chars: int = 0
    dropped: int = 0

    def add(self, direction: Direction, text: str) -> None:
        if len(self.lines) >= self.max_lines or self.chars + len(text) > self.max_chars:
            self.dropped += 1
            return
        self.chars += len(text)
        self.lines.append(TranscriptLine(direction, text))

    def shell(self, text: str) -> None:
        self.add(Direction.SHELL, text)

    def client(self, text: str) -> None:
        self.add(Direction.CLIENT, text)

    def note(self, text: str) -> None:
        self.add(Direction.NOTE, text)

    def server(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.add(Direction.SERVER, text)

    def server_bytes(self, data: bytes) -> None:
        """Record raw bytes from the server (a reply, or garbage) line by line."""
        if not data:
            return
        chunks = data.split(b"\n")
        if chunks and chunks[-1] == b"":
            chunks.pop()
        for chunk in chunks:
            self.add(Direction.SERVER, printable(chunk.rstrip(b"\r")))

    def freeze(self) -> Transcript:
        lines = tuple(self.lines)
        if self.dropped:
            note = f"... {self.dropped} more lines not kept (transcript limit reached)"
            lines += (TranscriptLine(Direction.NOTE, note),)
        return Transcript(lines)


def printable(data: bytes, limit: int = 200) -> str:
    """Bytes as readable text: UTF-8 where possible, control bytes escaped, long lines cut."""
    text = data.decode("utf-8", errors="backslashreplace")
    out = "".join(ch if ch.isprintable() or ch == "\t" else ascii(ch)[1:-1] for ch in text)
    return out if len(out) <= limit else out[:limit] + f"... ({len(data)} bytes)"
