"""Notebook 02, connection refused: port roles, refused vs timeout, errno, master.cf."""

from __future__ import annotations

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
        hints=("RFC 6409 defines it.", "It is one of the two ports that refused the blogger."),
        explanation="Port 587 (`submission` in master.cf) is where clients authenticate and "
        "hand over mail; RFC 8314 adds 465 for the same job with implicit TLS.",
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
            "errno numbers differ between operating systems; the names do not.",
            "`python3 -c 'import errno; print(errno.ECONNREFUSED)'` on Linux tells you.",
        ),
        explanation="Same error, different number: Linux 111, macOS/BSD 61. That is why "
        "the blog saw 61 on the laptop and 111 on the server.",
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
        hints=("On macOS/BSD ETIMEDOUT sits right next to ECONNREFUSED.",),
        explanation="macOS: ETIMEDOUT 60, ECONNREFUSED 61, ECONNRESET 54. A timeout means "
        "packets vanished (a dropping firewall, a dead host); a refusal means the host "
        "answered 'nothing here'.",
    ),
    MultipleChoice(
        id="nb02.refused-vs-timeout",
        title="What 'connection refused' proves",
        prompt="A TCP connect fails *immediately* with 'connection refused'. What does that "
        "tell you?",
        choices=(
            Choice(
                "The host was reached and answered with a reset: nothing listens on that "
                "port (or a firewall actively REJECTs).",
                correct=True,
                feedback="A refusal is an answer. A dropping firewall gives silence and a "
                "timeout instead.",
            ),
            Choice(
                "A firewall silently dropped the packets.",
                feedback="Dropped packets get no answer, so the client waits and times out "
                "(errno 110 on Linux, 60 on macOS).",
            ),
            Choice(
                "The server rejected the TLS certificate.",
                feedback="TLS starts only after TCP connects; a certificate cannot cause a "
                "refused TCP connection.",
            ),
            Choice(
                "The host name did not resolve.",
                feedback="Then there would be no address to connect to: a name error, "
                "before any connect.",
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
                "Postfix does not listen there: `submission` and `smtps` are commented out "
                "in master.cf.",
                correct=True,
                feedback="Debian's master.cf ships them commented out. No listener means the "
                "kernel refuses, so Postfix never logs anything.",
            ),
            Choice(
                "The firewall blocks them.",
                feedback="ufw allows them, and a connection to localhost does not even pass "
                "ufw's rules for outside traffic.",
            ),
            Choice(
                "The self-signed certificate.",
                feedback="TLS comes after TCP connects; the refusal happens before any "
                "certificate is sent.",
            ),
            Choice(
                "The MX record points at a CNAME.",
                feedback="A real mistake, but connecting to `localhost` involves no MX "
                "lookup at all.",
            ),
        ),
        hints=(
            "Refused from localhost too: what is (not) on the other end of the port?",
            "`ss -ltnp` on the server lists the ports something listens on.",
        ),
    ),
    ShortAnswer(
        id="nb02.master-cf-service",
        title="Enabling port 587",
        prompt="Which service name do you uncomment in `/etc/postfix/master.cf` to make "
        "Postfix listen on port 587?",
        accept=("submission",),
        keyword=True,
        wrong=(
            ("smtps", "`smtps` is port 465 (implicit TLS). Port 587 has another name."),
            ("587", "master.cf names ports by their /etc/services name; 587's name is wanted."),
            ("smtp", "`smtp` is port 25, which already works."),
            (
                "smtpd",
                "smtpd is the daemon behind every one of these services; which "
                "service line is 587?",
            ),
        ),
        hints=("`grep 587 /etc/services`",),
        explanation="Uncomment the `submission inet n - y - - smtpd` line and its `-o` "
        "overrides, then `postfix reload`.",
    ),
)
