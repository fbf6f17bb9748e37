"""Every probe against every hostile server in labkit.testing: time and peak memory.

    python benchmarks/bench_hostile.py [--timeout 1.5] [--hang-after 30]

Prints one row per (probe, server): the wall time, the bound it must keep (its
timeout + 0.5 s, or the doctor's stated total + 0.5 s), the peak Python memory
allocated while it ran (tracemalloc), the transcript's length and how the probe
classified the server. A case that outlives its bound by 30 s is abandoned and shown
as HUNG. Everything runs on 127.0.0.1. The exit status is 1 if any case broke its
bound.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from labkit.doctor import run_doctor
from labkit.probes.dns import mail_dns_report
from labkit.probes.smtp import smtp_session
from labkit.probes.tcp import probe_port
from labkit.probes.tls import probe_tls
from labkit.target import Target
from labkit.testing.certs import CertFactory
from labkit.testing.dns import many_records_dns_server
from labkit.testing.servers import (
    blackhole_port,
    endless_imap_server,
    endless_reply_server,
    garbage_server,
    silent_server,
    slow_reply_server,
    split_reply_server,
    tls_server,
)

try:
    from labkit.doctor import doctor_budget
except ImportError:  # an older labkit, measured for comparison

    def doctor_budget(timeout: float, *, inside: bool) -> float:
        return timeout + 1.0


HANG_AFTER = 30.0


def measure(call: Callable[[], Any], bound: float) -> tuple[str, float, float, Any]:
    """(status, seconds, peak MB, result) of ``call``, run in a thread so a hang
    cannot stop the table."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = call()
        except BaseException as exc:  # shown in the table
            box["error"] = exc

    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(bound + HANG_AFTER)
    elapsed = time.monotonic() - started
    peak = (tracemalloc.get_traced_memory()[1] - base) / 2**20
    if thread.is_alive():
        return "HUNG", elapsed, peak, None
    if "error" in box:
        return f"raised {type(box['error']).__name__}", elapsed, peak, None
    return ("ok" if elapsed <= bound else "SLOW"), elapsed, peak, box["result"]


def outcome(result: Any) -> str:
    if result is None:
        return "-"
    for attribute in ("failure", "stopped_at", "outcome"):
        value = getattr(result, attribute, None)
        if value is not None:
            return str(getattr(value, "value", value))
    if hasattr(result, "findings"):
        return f"{len(result.findings)} findings, worst {result.worst.value}"
    if hasattr(result, "issues"):
        return f"{len(result.issues)} issues"
    state = getattr(result, "state", None)
    return str(getattr(state, "value", "done"))


def lines(result: Any) -> str:
    transcript = getattr(result, "transcript", None)
    return str(len(transcript)) if transcript is not None else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", type=float, default=1.5)
    parser.add_argument("--hang-after", type=float, default=30.0, help="seconds past the bound")
    args = parser.parse_args()
    timeout: float = args.timeout
    global HANG_AFTER
    HANG_AFTER = args.hang_after
    tracemalloc.start()
    rows: list[tuple[str, str, str, float, float, float, str, str]] = []
    with ExitStack() as stack:
        certs = CertFactory(Path(stack.enter_context(_tmpdir())))
        malformed = certs.leaf_with_malformed_chain("mail.zimmerman.test")
        servers = {
            "silent": stack.enter_context(silent_server()),
            "garbage": stack.enter_context(garbage_server()),
            "split-reply": stack.enter_context(split_reply_server()),
            f"slow-reply {timeout * 0.8:g}s": stack.enter_context(
                slow_reply_server(delay=timeout * 0.8)
            ),
            "endless-reply": stack.enter_context(endless_reply_server()),
            "endless-imap": stack.enter_context(endless_imap_server()),
            "malformed-chain": stack.enter_context(
                tls_server(malformed.server_context(send_chain=True))
            ),
        }
        blackhole = stack.enter_context(blackhole_port())
        dns = stack.enter_context(many_records_dns_server(mx_targets=64, ptr_names=40))
        endpoints = {name: (s.host, s.port) for name, s in servers.items()}
        endpoints["blackhole"] = blackhole
        relay = ("MAIL FROM:<a@example.net>", "RCPT TO:<b@example.net>")
        probes: dict[str, Callable[[str, int], Any]] = {
            "probe_port": lambda h, p: probe_port(h, p, timeout),
            "smtp_session": lambda h, p: smtp_session(h, p, commands=relay, timeout=timeout),
            "smtp --starttls": lambda h, p: smtp_session(h, p, starttls=True, timeout=timeout),
            "smtp --tls": lambda h, p: smtp_session(h, p, implicit_tls=True, timeout=timeout),
            "probe_tls": lambda h, p: probe_tls(h, p, timeout=timeout),
            "tls --starttls smtp": lambda h, p: probe_tls(h, p, starttls="smtp", timeout=timeout),
            "tls --starttls imap": lambda h, p: probe_tls(h, p, starttls="imap", timeout=timeout),
        }
        for server_name, (host, port) in endpoints.items():
            for probe_name, probe in probes.items():
                bound = timeout + 0.5
                status, seconds, peak, result = measure(
                    lambda probe=probe, host=host, port=port: probe(host, port), bound
                )
                rows.append(
                    (
                        probe_name,
                        server_name,
                        status,
                        seconds,
                        bound,
                        peak,
                        lines(result),
                        outcome(result),
                    )
                )
        bound = timeout + 0.5
        status, seconds, peak, result = measure(
            lambda: mail_dns_report("zimmerman.test", dns.host, port=dns.port, timeout=timeout),
            bound,
        )
        rows.append(
            (
                "mail_dns_report",
                "64 MX, 40 PTR, dropped",
                status,
                seconds,
                bound,
                peak,
                "-",
                outcome(result),
            )
        )
        slow_host, slow_port = endpoints[f"slow-reply {timeout * 0.8:g}s"]
        target = Target(
            address=slow_host,
            smtp_port=slow_port,
            smtps_port=slow_port,
            submission_port=slow_port,
            nameserver=dns.host,
            dns_port=dns.port,
            timeout=timeout,
            password="secret",
        )
        bound = doctor_budget(timeout, inside=False) + 0.5
        status, seconds, peak, result = measure(lambda: run_doctor(target), bound)
        rows.append(
            (
                "run_doctor",
                "slow SMTP + hostile DNS",
                status,
                seconds,
                bound,
                peak,
                "-",
                outcome(result),
            )
        )
    header = ("probe", "server", "status", "seconds", "bound", "peak MB", "lines", "outcome")
    widths = [max(len(header[i]), *(len(_cell(r[i])) for r in rows)) for i in range(len(header))]
    print(f"hostile servers, timeout {timeout:g} s, Python {sys.version.split()[0]}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(_cell(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    broken = [r for r in rows if r[2] != "ok"]
    print(f"{len(rows)} cases, {len(broken)} over their bound")
    return 1 if broken else 0


def _cell(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _tmpdir() -> Any:
    import tempfile

    return tempfile.TemporaryDirectory(prefix="labkit-bench-")


if __name__ == "__main__":
    raise SystemExit(main())
