"""SMTP dialogs recorded from the real lab, replayed as probe results.

The verdicts (:mod:`labkit.verdicts`) are tested against what the lab's Postfix
really answered in each scenario. :func:`dump_smtp` turns an
:class:`~labkit.probes.smtp.SmtpResult` into plain JSON-able data (secrets never
enter a transcript, so none are recorded); :func:`load_smtp` rebuilds an equal
result from it. ``tests/data/lab_transcripts.json`` holds one capture per scenario,
made with ``tests/data/capture_transcripts.py`` inside a running lab's workstation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labkit.probes._transcript import Direction, Transcript, TranscriptLine
from labkit.probes._wire import parse_reply
from labkit.probes.smtp import Anomaly, AnomalyKind, Exchange, Phase, SmtpFailure, SmtpResult
from labkit.probes.tcp import PortResult, PortState
from labkit.probes.tls import TlsSession

__all__ = ["dump_smtp", "load_recordings", "load_smtp"]


def _reply(data: list[str] | None) -> Any:
    if data is None:
        return None
    return parse_reply(("\r\n".join(data) + "\r\n").encode())


def dump_smtp(result: SmtpResult) -> dict[str, Any]:
    """The facts of a dialog, as JSON-able data (replies as their wire lines)."""
    connection = result.connection
    return {
        "host": result.host,
        "port": result.port,
        "connection": {
            "state": connection.state.value,
            "address": connection.address,
            "errno_name": connection.errno_name,
            "errno_number": connection.errno_number,
            "error": connection.error,
        },
        "transcript": [[line.direction.value, line.text] for line in result.transcript],
        "stopped_at": result.stopped_at.value,
        "failure": result.failure.value if result.failure else None,
        "reason": result.reason,
        "banner": list(result.banner.wire_lines()) if result.banner else None,
        "ehlo_name": result.ehlo_name,
        "used_helo": result.used_helo,
        "before_tls": {k: list(v) for k, v in result.capabilities_before_tls.items()},
        "after_tls": (
            None
            if result.capabilities_after_tls is None
            else {k: list(v) for k, v in result.capabilities_after_tls.items()}
        ),
        "tls": (
            None
            if result.tls is None
            else {"version": result.tls.version, "cipher": result.tls.cipher}
        ),
        "authenticated": result.authenticated,
        "exchanges": [
            {"phase": e.phase.value, "command": e.command, "reply": list(e.reply.wire_lines())}
            for e in result.exchanges
        ],
        "anomalies": [
            {"kind": a.kind.value, "evidence": a.evidence, "explanation": a.explanation}
            for a in result.anomalies
        ],
    }


def load_smtp(data: dict[str, Any]) -> SmtpResult:
    """Rebuild the :class:`SmtpResult` that :func:`dump_smtp` recorded."""
    conn = data["connection"]
    tls = data["tls"]
    return SmtpResult(
        host=data["host"],
        port=data["port"],
        connection=PortResult(
            data["host"],
            data["port"],
            PortState(conn["state"]),
            conn["address"],
            0.001,
            conn["errno_name"],
            conn["errno_number"],
            conn["error"],
        ),
        transcript=Transcript(
            tuple(TranscriptLine(Direction(d), text) for d, text in data["transcript"])
        ),
        stopped_at=Phase(data["stopped_at"]),
        failure=SmtpFailure(data["failure"]) if data["failure"] else None,
        reason=data["reason"],
        banner=_reply(data["banner"]),
        ehlo_name=data["ehlo_name"],
        used_helo=data["used_helo"],
        capabilities_before_tls={k: tuple(v) for k, v in data["before_tls"].items()},
        capabilities_after_tls=(
            None
            if data["after_tls"] is None
            else {k: tuple(v) for k, v in data["after_tls"].items()}
        ),
        tls=(
            None
            if tls is None
            else TlsSession(tls["version"], tls["cipher"], None, data["host"], (), None)
        ),
        authenticated=data["authenticated"],
        exchanges=tuple(
            Exchange(Phase(e["phase"]), e["command"], _reply(e["reply"])) for e in data["exchanges"]
        ),
        anomalies=tuple(
            Anomaly(AnomalyKind(a["kind"]), a["evidence"], a["explanation"])
            for a in data["anomalies"]
        ),
        elapsed=0.01,
    )


def load_recordings(path: str | Path) -> dict[str, dict[str, SmtpResult]]:
    """``{scenario: {dialog name: SmtpResult}}`` from a recordings file."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    return {
        scenario: {name: load_smtp(dialog) for name, dialog in dialogs.items()}
        for scenario, dialogs in raw["scenarios"].items()
    }
