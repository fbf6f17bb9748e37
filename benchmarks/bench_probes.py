"""Probe and doctor timings against real servers on 127.0.0.1 (no Docker, no network).

Prints the median and worst of several rounds per probe (no pass/fail). The doctor's
target from the issue is shown beside it: a full run well under 2 s against a
healthy server. The "broken" doctor run has a black-hole port and a closed port, to
show that the run costs about one timeout however many things are broken.

    python benchmarks/bench_probes.py
    python benchmarks/bench_probes.py --rounds 20 --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from rich.console import Console
from rich.table import Table

from labkit.doctor import run_doctor
from labkit.probes.dns import lookup, mail_dns_report
from labkit.probes.smtp import smtp_session
from labkit.probes.tcp import probe_port, scan_ports
from labkit.probes.tls import probe_tls
from labkit.target import Target
from labkit.testing.certs import CertFactory
from labkit.testing.dns import blog_dns_server, fixed_dns_server
from labkit.testing.servers import blackhole_port, closed_port, silent_server, split_reply_server
from labkit.testing.smtpd import FakeMailServer

USER, PASSWORD = "jez@zimmerman.test", "bench-password"
NAME = "mail.zimmerman.test"


def measure(call: Callable[[], Any], rounds: int) -> dict[str, float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return {"median_ms": statistics.median(times) * 1000, "max_ms": max(times) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rounds = args.rounds
    results: dict[str, dict[str, float]] = {}

    with ExitStack() as stack:
        certs = CertFactory(stack.enter_context(tempfile.TemporaryDirectory()))
        good = certs.leaf(NAME).server_context()
        selfsigned = certs.self_signed(NAME).server_context()
        users = {USER: PASSWORD}
        plain = stack.enter_context(FakeMailServer())
        smtp = stack.enter_context(FakeMailServer(tls=good, users=users))
        smtps = stack.enter_context(FakeMailServer(tls=good, implicit_tls=True, users=users))
        submission = stack.enter_context(FakeMailServer(tls=good, users=users))
        blog_smtp = stack.enter_context(
            FakeMailServer(hostname="metagross", tls=selfsigned, users=users)
        )
        split = stack.enter_context(split_reply_server(delay=0))
        silent = stack.enter_context(silent_server())
        fixed_dns = stack.enter_context(fixed_dns_server())
        blog_dns = stack.enter_context(blog_dns_server())
        _, closed = stack.enter_context(closed_port())
        _, hole = stack.enter_context(blackhole_port())
        host = "127.0.0.1"
        ca = str(certs.ca_path)

        cases: dict[str, Callable[[], Any]] = {
            "tcp: open port": lambda: probe_port(host, smtp.port),
            "tcp: refused port": lambda: probe_port(host, closed),
            "tcp: scan 3 ports": lambda: scan_ports(host, [smtp.port, smtps.port, closed]),
            "smtp: banner + EHLO + QUIT": lambda: smtp_session(host, plain.port),
            "smtp: reply split per byte": lambda: smtp_session(host, split.port),
            "smtp: STARTTLS + AUTH PLAIN": lambda: smtp_session(
                host, smtp.port, starttls=True, auth=(USER, PASSWORD)
            ),
            "smtp: implicit TLS + AUTH": lambda: smtp_session(
                host, smtps.port, implicit_tls=True, auth=(USER, PASSWORD)
            ),
            "smtp: silent server (0.2 s timeout)": lambda: smtp_session(
                host, silent.port, timeout=0.2
            ),
            "tls: implicit, verifies (0)": lambda: probe_tls(
                host, smtps.port, servername=NAME, cafile=ca
            ),
            "tls: STARTTLS, self-signed (18)": lambda: probe_tls(
                host, blog_smtp.port, starttls="smtp", servername=NAME, cafile=ca
            ),
            "dns: A with CNAME chain": lambda: lookup(
                NAME, "A", nameserver=blog_dns.host, port=blog_dns.port
            ),
            "dns: mail report (blog zone)": lambda: mail_dns_report(
                "zimmerman.test", blog_dns.host, port=blog_dns.port
            ),
        }
        for label, call in cases.items():
            call()  # warm up (imports, CA loading)
            results[label] = measure(call, rounds)

        healthy = Target(
            address=host,
            nameserver=fixed_dns.host,
            dns_port=fixed_dns.port,
            cafile=ca,
            smtp_port=smtp.port,
            smtps_port=smtps.port,
            submission_port=submission.port,
            password=PASSWORD,
        )
        broken = Target(
            address=host,
            nameserver=blog_dns.host,
            dns_port=blog_dns.port,
            cafile=ca,
            smtp_port=blog_smtp.port,
            smtps_port=hole,
            submission_port=closed,
            password=PASSWORD,
            timeout=0.5,
        )
        run_doctor(healthy)
        results["doctor: healthy server"] = measure(lambda: run_doctor(healthy), rounds)
        results["doctor: blog-like (timeout 0.5 s)"] = measure(
            lambda: run_doctor(broken), max(3, rounds // 3)
        )

    if args.json:
        print(
            json.dumps(
                {k: {m: round(v, 2) for m, v in r.items()} for k, r in results.items()}, indent=2
            )
        )
        return
    table = Table(title=f"labkit probes on 127.0.0.1 ({rounds} rounds)")
    table.add_column("probe")
    table.add_column("median ms", justify="right")
    table.add_column("max ms", justify="right")
    table.add_column("target")
    for label, figures in results.items():
        target = "< 2000 ms" if label == "doctor: healthy server" else ""
        table.add_row(label, f"{figures['median_ms']:.1f}", f"{figures['max_ms']:.1f}", target)
    Console().print(table)


if __name__ == "__main__":
    main()
