"""Record the lab's real SMTP dialogs in every scenario, for the verdict tests.

Run it on the host with a lab up (it applies each scenario in turn, then restores
``fixed``); the dialogs, TLS handshakes and DNS lookups run inside the workstation,
from the learner's vantage on the hotspot (nothing on the path rewrites SMTP)::

    python tests/data/capture_transcripts.py > tests/data/lab_transcripts.json

Only the lab's own containers are contacted. Nothing is ever delivered: the relay
tests stop at RCPT.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCENARIOS = (
    "fixed",
    "no-submission",
    "no-tls-cert",
    "self-signed",
    "bad-dns",
    "open-relay",
    "blog",
)
ROOT = Path(__file__).resolve().parents[2]

# Runs in the workstation with the labkit installed there; recorded.py is handed in.
INSIDE = r"""
import json, sys
sys.path.insert(0, "/tmp")
from recorded import dump_smtp
from labkit.probes.smtp import smtp_session
host, creds = "mail.zimmerman.test", ("jez@zimmerman.test", "metagross2014")
stranger = ("MAIL FROM:<stranger@example.net>",)
dialogs = {
    "ehlo-25": dict(port=25),
    "starttls-auth-25": dict(port=25, starttls=True, auth=creds),
    "relay-25": dict(port=25, commands=stranger + ("RCPT TO:<someone@example.net>",)),
    "own-domain-25": dict(port=25, commands=stranger + ("RCPT TO:<postmaster@zimmerman.test>",)),
    "relay-587-plain": dict(port=587, commands=stranger + ("RCPT TO:<someone@example.net>",)),
    "starttls-auth-587": dict(port=587, starttls=True, auth=creds),
    "smtps-auth-465": dict(port=465, implicit_tls=True, auth=creds),
}
out = {}
for name, kwargs in dialogs.items():
    port = kwargs.pop("port")
    out[name] = dump_smtp(smtp_session(host, port, timeout=5, **kwargs))
# The doctor's other evidence: each port's certificate, and the DNS mail depends on.
from recorded import dump_probe
from labkit.lab import lab_target
from labkit.probes.dns import mail_dns_report
from labkit.probes.tls import probe_tls
t = lab_target()
tls = dict(cafile=t.cafile, servername=host, timeout=5)
probes = {
    "tls-25": dump_probe(probe_tls(host, 25, starttls="smtp", **tls)),
    "tls-587": dump_probe(probe_tls(host, 587, starttls="smtp", **tls)),
    "tls-465": dump_probe(probe_tls(host, 465, **tls)),
    "dns": dump_probe(mail_dns_report("zimmerman.test", t.nameserver, expect_host=host)),
}
print(json.dumps({"dialogs": out, "probes": probes}))
"""


def main() -> None:
    project = os.environ.get("LABKIT_PROJECT", "labkit")
    workstation = f"{project}-workstation-1"
    subprocess.run(
        ["docker", "cp", str(ROOT / "labkit/testing/recorded.py"), f"{workstation}:/tmp/"],
        check=True,
    )
    scenarios, probes = {}, {}
    for scenario in SCENARIOS:
        subprocess.run(["labkit", "scenario", "apply", scenario], check=True, capture_output=True)
        # The server's own answers: from the hotspot, where nothing on the path rewrites.
        subprocess.run(["labkit", "net", "use", "hotspot"], check=True, capture_output=True)
        run = subprocess.run(
            ["docker", "exec", "-i", "-u", "learner", workstation, "python3", "-"],
            input=INSIDE,
            text=True,
            capture_output=True,
            check=True,
        )
        captured = json.loads(run.stdout)
        scenarios[scenario] = captured["dialogs"]
        probes[scenario] = captured["probes"]
        print(f"captured {scenario}", file=sys.stderr)
    subprocess.run(["labkit", "scenario", "apply", "fixed"], check=True, capture_output=True)
    json.dump({"scenarios": scenarios, "probes": probes}, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
