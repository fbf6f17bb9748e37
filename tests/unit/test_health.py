"""The course's health check, item by item, against real local servers."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from labkit.doctor import health
from labkit.target import Target
from labkit.testing.dns import TinyDnsServer
from labkit.testing.smtpd import FakeMailServer

Serve = Callable[[FakeMailServer], FakeMailServer]


def test_dns_item(fixed_dns: TinyDnsServer, closed: tuple[str, int]) -> None:
    ok = health._dns_item(Target(nameserver=fixed_dns.host, dns_port=fixed_dns.port))
    assert ok.ok and "zimmerman.test" in ok.detail
    bad = health._dns_item(Target(nameserver=closed[0], dns_port=closed[1]))
    assert not bad.ok and "labkit reset" in bad.fix


def test_smtp_item_goes_by_address(serve: Serve, closed: tuple[str, int]) -> None:
    server = serve(FakeMailServer())
    # The name does not resolve; the address is used, as in a DNS exercise in progress.
    target = Target(mail_host="nowhere.invalid", mx_address=server.host, smtp_port=server.port)
    item = health._smtp_item(target)
    assert item.ok and item.detail.startswith("`220 ")
    down = health._smtp_item(Target(mx_address=closed[0], smtp_port=closed[1]))
    assert not down.ok and "postfix start" in down.fix


def test_ca_item(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    assert not health._ca_item(Target(cafile=str(ca))).ok
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert health._ca_item(Target(cafile=str(ca))).ok
    assert not health._ca_item(Target()).ok


def test_progress_item(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_PROGRESS", str(tmp_path / "progress.json"))
    assert health._progress_item(Target()).ok
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    monkeypatch.setenv("LABKIT_PROGRESS", str(locked / "sub" / "progress.json"))
    try:
        item = health._progress_item(Target())
    finally:
        locked.chmod(0o700)
    if os.geteuid() != 0:  # root can write anywhere
        assert not item.ok and "LABKIT_PROGRESS" in item.fix
