"""``labkit doctor``: examine the mail server from here and, when possible, from inside.

Defaults come from the running lab (:func:`labkit.doctor.doctor_target`); every
option overrides one field. Inside the
workstation the inside view logs in to ``mx`` over SSH; on the host it uses
``docker exec``; without either, the doctor says what it could not check.
Exit code 0 when no finding failed, 1 otherwise, 2 for a usage or setup error.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from labkit.cli import app
from labkit.cli._output import console, emit, err_console
from labkit.cli._params import port_option, seconds_option
from labkit.cli._project import ProjectOpt, use_project
from labkit.doctor import DoctorReport, Status, doctor_target, inside_transport, run_doctor

_ICON = {
    Status.OK: ("✓", "green"),
    Status.INFO: ("i", "blue"),
    Status.WARN: ("!", "yellow"),
    Status.FAIL: ("✗", "red"),
}


@app.command("doctor")
def doctor(
    domain: Annotated[str | None, typer.Option("--domain", help="Mail domain.")] = None,
    host: Annotated[str | None, typer.Option("--host", help="Mail server name.")] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="Connect here instead of resolving --host.")
    ] = None,
    server: Annotated[
        str | None, typer.Option("--server", help="DNS server address (default: system).")
    ] = None,
    dns_port: Annotated[
        int | None,
        typer.Option("--dns-port", help="DNS server port.", parser=port_option("dns-port")),
    ] = None,
    smtp_port: Annotated[
        int | None, typer.Option("--smtp-port", help="Default 25.", parser=port_option("smtp-port"))
    ] = None,
    smtps_port: Annotated[
        int | None,
        typer.Option("--smtps-port", help="Default 465.", parser=port_option("smtps-port")),
    ] = None,
    submission_port: Annotated[
        int | None,
        typer.Option(
            "--submission-port", help="Default 587.", parser=port_option("submission-port")
        ),
    ] = None,
    cafile: Annotated[str | None, typer.Option("--cafile", help="CA bundle to trust.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Test user for AUTH.")] = None,
    password: Annotated[
        str | None, typer.Option("--password", help="Test password (enables AUTH checks).")
    ] = None,
    outside_domain: Annotated[
        str | None, typer.Option("--outside-domain", help="Foreign domain for the relay test.")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", help="Seconds per probe (0.1-600).", parser=seconds_option()),
    ] = None,
    inside: Annotated[
        bool, typer.Option("--inside/--no-inside", help="Also examine the server from inside.")
    ] = True,
    project: ProjectOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Diagnose the mail server: ports, STARTTLS, certificates, AUTH, relay, DNS, logs."""
    use_project(project)
    target = doctor_target(
        domain=domain,
        mail_host=host,
        address=address,
        nameserver=server,
        dns_port=dns_port,
        smtp_port=smtp_port,
        smtps_port=smtps_port,
        submission_port=submission_port,
        cafile=cafile,
        user=user,
        password=password,
        outside_domain=outside_domain,
        timeout=timeout,
    )
    transport, why_not = inside_transport() if inside else (None, "--no-inside was given")
    if transport is None and why_not and not as_json:
        err_console.print(f"[dim]inside view skipped: {escape(why_not)}[/]")
    report = run_doctor(target, transport)
    emit(report.to_dict(), as_json, lambda: render_report(report))
    raise typer.Exit(report.exit_code)


def render_report(report: DoctorReport) -> None:
    """A table of findings, then the details (evidence, hint, where to learn) of the
    ones that need attention."""
    table = Table(title=f"labkit doctor: {report.target.mail_host} ({report.target.domain})")
    for column in ("", "check", "target", "finding"):
        table.add_column(column)
    for finding in sorted(report.findings, key=lambda f: -f.status.rank):
        icon, colour = _ICON[finding.status]
        table.add_row(
            Text(icon, style=colour),
            finding.check,
            escape(finding.target),
            Text(finding.title, style=colour if finding.status is not Status.OK else ""),
        )
    console.print(table)
    for finding in report.findings:
        if finding.status not in (Status.FAIL, Status.WARN):
            continue
        icon, colour = _ICON[finding.status]
        console.print(
            f"\n[{colour}]{icon} {escape(finding.title)}[/]  [dim]{finding.check} "
            f"{escape(finding.target)}[/]"
        )
        if finding.evidence:
            for line in finding.evidence.splitlines():
                console.print(Text(f"    {line}", style="dim"))
        if finding.hint:
            console.print(f"  [bold]fix:[/] {escape(finding.hint)}")
        if finding.learn_more:
            console.print(f"  [bold]learn:[/] {escape(finding.learn_more)}")
    not_checked = report.observations.errors
    if not_checked:
        console.print("\n[yellow]Not checked[/] (the same list as --json's not_checked):")
        for step, why in not_checked.items():
            first, *rest = why.splitlines() or [""]
            console.print(f"  [bold]{escape(step)}[/]: {escape(first)}")
            for line in rest:
                console.print(Text(f"    {line}", style="dim"))
    counts = report.counts()
    console.print(
        f"\n{counts['fail']} failed, {counts['warn']} warnings, {counts['ok']} ok, "
        f"{counts['info']} notes"
        + (f", {len(not_checked)} not checked" if not_checked else "")
        + f" in {report.elapsed:.2f} s"
    )
