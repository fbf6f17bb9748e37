"""SMTP dialogs recorded from the real lab, replayed as probe results.

The verdicts (:mod:`labkit.verdicts`) are tested against what the lab's Postfix
really answered in each scenario. :func:`dump_smtp` turns an
:class:`~labkit.probes.smtp.SmtpResult` into plain JSON-able data (secrets never
enter a transcript, so none are recorded); :func:`load_smtp` rebuilds an equal
result from it. ``tests/data/lab_transcripts.json`` holds one capture per scenario,
made with ``tests/data/capture_transcripts.py`` inside a running lab's workstation.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from labkit.probes._transcript import Direction, Transcript, TranscriptLine
from labkit.probes._wire import parse_reply
from labkit.probes.smtp import Anomaly, AnomalyKind, Exchange, Phase, SmtpFailure, SmtpResult
from labkit.probes.tcp import PortResult, PortState
from labkit.probes.tls import TlsSession

__all__ = [
    "dump_probe",
    "dump_smtp",
    "load_probe",
    "load_probes",
    "load_recordings",
    "load_smtp",
]


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


# --------------------------------------------------------------------------- any probe result

T = TypeVar("T")


def dump_probe(result: Any) -> Any:
    """Any frozen probe result (a TLS handshake, a reverse lookup) as JSON-able data."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return {f.name: dump_probe(getattr(result, f.name)) for f in dataclasses.fields(result)}
    if isinstance(result, enum.Enum):
        return result.value
    if isinstance(result, datetime):
        return result.isoformat()
    if isinstance(result, (tuple, list)):
        return [dump_probe(v) for v in result]
    return result


def _load_value(kind: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return _load_value(options[0], data)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        return tuple(_load_value(item, v) for v in data)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return load_probe(kind, data)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(data)
    if kind is datetime:
        return datetime.fromisoformat(data)
    return data


def load_probe(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild the ``cls`` result that :func:`dump_probe` recorded."""
    hints = typing.get_type_hints(cls)
    fields = {
        f.name: _load_value(hints[f.name], data[f.name])
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.name in data  # a field added since the recording keeps its default
    }
    return cls(**fields)


def load_probes(path: str | Path) -> dict[str, dict[str, Any]]:
    """``{scenario: {"tls": {port: TlsResult}, "dns": MailDnsReport}}`` from a
    recordings file (what ``capture_transcripts.py`` recorded besides the dialogs)."""
    from labkit.probes.dns import MailDnsReport
    from labkit.probes.tls import TlsResult

    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    out: dict[str, dict[str, Any]] = {}
    for scenario, probes in raw.get("probes", {}).items():
        out[scenario] = {
            "tls": {
                int(name.split("-")[1]): load_probe(TlsResult, data)
                for name, data in probes.items()
                if name.startswith("tls-")
            },
            "dns": load_probe(MailDnsReport, probes["dns"]),
        }
    return out
