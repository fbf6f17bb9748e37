"""Notebook 02, connection refused: port roles, refused vs timeout, errno, master.cf."""

from __future__ import annotations

import re

from labkit.exercises.questions import Choice, MultipleChoice, Numeric, Question, ShortAnswer

QUESTIONS: tuple[Question, ...] = (
    Numeric(
        id="nb02.port-submission",
        title="The submission port",
        prompt="Which port is for mail *submission*: a mail client sending through its own "
        "server, starting in plain text and upgrading with STARTTLS?",
        answer=587,
        wrong=(
            (
                25,
                "25 is for server-to-server relay (where MX records point); many networks "
                "block it for end users.",
            ),
            (
                465,
                "465 is submission too, but with implicit TLS from the first byte "
                "(`smtps`); no STARTTLS there.",
            ),
            (993, "993 is IMAP over TLS: reading mail, not sending it."),
            (2525, "2525 is an unofficial fallback some providers offer, not a standard."),
        ),
        hints=(
            "It is one of the two ports that refused the blogger, and not the one with TLS "
            "from the first byte.",
            "`grep submission /etc/services` in a terminal.",
        ),
        explanation="Port 587 (`submission` in master.cf) is where clients authenticate and "
        "hand over mail; RFC 8314 adds 465 for the same job with implicit TLS.",
        variants=("587", "587/tcp", "port 587", "587 (submission)", "587, not 465"),
        rejects=("465", "25", "587 or 465", "465/tcp", "993"),
    ),
    Numeric(
        id="nb02.errno-linux",
        title="ECONNREFUSED on Linux",
        prompt="From the server itself, `openssl s_client -connect localhost:587` printed "
        "`connect:errno=...`. The server runs Linux. Which number is ECONNREFUSED there?",
        answer=111,
        wrong=(
            (61, "That is macOS/BSD's number: the laptop's errno, not the server's."),
            (110, "110 is ETIMEDOUT on Linux: no answer at all, not a refusal."),
            (104, "104 is ECONNRESET on Linux: connected, then torn down."),
            (113, "113 is EHOSTUNREACH on Linux: no route to the host."),
        ),
        hints=(
            "errno numbers differ between operating systems; the names do not. The "
            "workstation runs Linux too.",
            "`python3 -c 'import errno; print(errno.ECONNREFUSED)'` in the terminal tells you.",
        ),
        explanation="Same error, different number: Linux 111, macOS/BSD 61. That is why "
        "the blog saw 61 on the laptop and 111 on the server.",
        variants=(
            "111",
            "errno=111",
            "connect:errno=111",
            "111 (61 on macOS)",
            "ECONNREFUSED = 111",
            "[Errno 111] Connection refused",
        ),
        rejects=("61", "110", "61 or 111", "111 or 61", "errno=61"),
    ),
    Numeric(
        id="nb02.errno-timeout-macos",
        title="ETIMEDOUT on macOS",
        prompt="From his MacBook the blogger saw `connect:errno=61`. Which number would a "
        "*timeout* have given on macOS instead?",
        answer=60,
        wrong=(
            (61, "61 is the refusal he saw (ECONNREFUSED); a timeout is a different error."),
            (110, "110 is ETIMEDOUT on Linux; macOS numbers it differently."),
            (111, "111 is ECONNREFUSED on Linux."),
            (54, "54 is ECONNRESET on macOS: connected, then reset."),
        ),
        hints=(
            "On the BSDs the connection errors are numbered close together.",
            "macOS's `/usr/include/sys/errno.h` (or `man 2 intro` on a Mac) lists them.",
        ),
        explanation="macOS: ETIMEDOUT 60, ECONNREFUSED 61, ECONNRESET 54. A timeout means "
        "packets vanished (a dropping firewall, a dead host); a refusal means the host "
        "answered 'nothing here'.",
        variants=("60", "errno=60", "60 (ETIMEDOUT)", "ETIMEDOUT = 60", "60, not 61"),
        rejects=("61", "110", "60 or 61", "54", "111"),
    ),
    MultipleChoice(
        id="nb02.refused-vs-timeout",
        title="What 'connection refused' proves",
        prompt="A TCP connect fails *immediately* with 'connection refused'. What does that "
        "tell you?",
        choices=(
            Choice(
                "The host answered: nothing listens on that port.",
                correct=True,
                feedback="A refusal is an answer (a TCP reset). A dropping firewall gives "
                "silence and a timeout instead; a REJECT rule can fake a refusal.",
            ),
            Choice(
                "A firewall on the path silently dropped the packets.",
                feedback="Look at the time column of the five attempts: how long does a "
                "dropped packet take to fail?",
            ),
            Choice(
                "The server rejected the client's TLS certificate during the handshake.",
                feedback="Which comes first on a connection, TCP or TLS?",
            ),
            Choice(
                "The host name did not resolve to an address in DNS.",
                feedback="Look at the 'name error' attempt: did it ever get to connect?",
            ),
        ),
        hints=("Think about which side sends something back, and what.",),
    ),
    MultipleChoice(
        id="nb02.refused-cause",
        title="Why 465 and 587 refused",
        prompt="`ufw status` allows 465 and 587, yet both refuse, even from the server "
        "itself (`localhost`), and mail.log stays silent. What is the likeliest cause?",
        choices=(
            Choice(
                "No program listens on those two ports.",
                correct=True,
                feedback="Debian's master.cf ships `submission` and `smtps` commented out. "
                "No listener means the kernel refuses, so Postfix never logs anything.",
            ),
            Choice(
                "The firewall blocks both ports despite what `ufw status` shows.",
                feedback="Does a connection to `localhost` pass ufw's rules for outside "
                "traffic, and what would a dropping firewall cause?",
            ),
            Choice(
                "The self-signed certificate makes Postfix refuse TLS clients.",
                feedback="When is a certificate sent: before or after the TCP connect?",
            ),
            Choice(
                "The MX points at a CNAME.",
                feedback="Which DNS lookup does a connection to `localhost` make?",
            ),
        ),
        hints=(
            "Refused from localhost too: what is (not) on the other end of the port?",
            "`ss -ltn` on the server lists the ports something listens on.",
        ),
    ),
    ShortAnswer(
        id="nb02.master-cf-service",
        title="Enabling port 587",
        prompt="Which service name do you uncomment in `/etc/postfix/master.cf` to make "
        "Postfix listen on port 587?",
        accept=(re.compile(r"(?<![\w-])submission(?:/inet\b|\s+inet\b[^,;()]*)?(?![\w-])"),),
        solution="submission",
        keyword=True,
        wrong=(
            (
                re.compile(r"(?<![\w-])smtps(?:/inet\b|\s+inet\b[^,;()]*)?(?![\w-])"),
                "`smtps` is port 465 (implicit TLS). Port 587 has another name.",
            ),
            ("587", "master.cf names ports by their /etc/services name; 587's name is wanted."),
            ("smtp", "`smtp` is port 25, which already works."),
            (
                "smtpd",
                "smtpd is the daemon behind every one of these services; which "
                "service line is 587?",
            ),
            ("submissions", "`submissions` is RFC 8314's name for 465, not 587."),
        ),
        hints=(
            "`grep 587 /etc/services` on the server.",
            "`postconf -M` lists the services master.cf runs now; the commented-out lines "
            "are in the file itself.",
        ),
        explanation="Uncomment its `inet` line and the `-o` overrides under it, then "
        "`postfix reload`.",
        variants=(
            "submission",
            "submission/inet",
            "submission inet n - y - - smtpd",
            "the submission service",
            "Submission (port 587 in /etc/services)",
            "submission inet n - n - - smtpd",
        ),
        rejects=("smtps", "smtpd", "587", "submission or smtps", "smtps, not submission", "smtp"),
    ),
)
