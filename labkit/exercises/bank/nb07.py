"""Notebook 07, the path: DROP vs REJECT, ICMP, blocked port 25, implicit TLS."""

from __future__ import annotations

import re

from labkit.exercises.questions import Choice, MultipleChoice, Question, ShortAnswer

QUESTIONS: tuple[Question, ...] = (
    MultipleChoice(
        id="nb07.drop-vs-reject",
        title="Silence or a no",
        prompt="Port 587 failed twice: once `Connection timed out` after the whole timeout, "
        "once `No route to host` in a millisecond, while 25 worked both times. What does "
        "the difference tell you?",
        choices=(
            Choice(
                "A firewall dropped the first in silence and refused the second with ICMP.",
                correct=True,
                feedback="DROP sends nothing back, so the client waits; REJECT answers at "
                "once, here with ICMP 'administratively prohibited'.",
            ),
            Choice(
                "Postfix was not listening on 587 during the first attempt, and was too busy to "
                "accept the connection during the second one.",
                feedback="A port nobody listens on answers with a TCP reset: 'refused', at once. "
                "Neither of these is that.",
            ),
            Choice(
                "The mail server itself was down during the first attempt and came back up just "
                "in time for the second one.",
                feedback="Port 25 of the same server answered both times.",
            ),
            Choice(
                "Both mean the same thing: the name mail.zimmerman.test did not resolve.",
                feedback="A name error happens before any packet is sent; both attempts "
                "reached an address.",
            ),
        ),
        hints=(
            "How long did each failure take, and did anything come back at all?",
            "`labkit probe port mail.zimmerman.test 587` names the ICMP message when one came.",
        ),
    ),
    ShortAnswer(
        id="nb07.icmp-code",
        title="The ICMP code of a firewall's no",
        prompt="`labkit probe port mail.zimmerman.test 587` names the ICMP message the router "
        "sent back: type 3 (destination unreachable), and which code?",
        # The code alone, or with its type as people write it ("type 3 code 13", "3/13").
        accept=(re.compile(r"(?<![\d.])13(?![\d.])"),),
        wrong=(
            (
                re.compile(r"(?<![\d.])113(?![\d.])"),
                "113 is EHOSTUNREACH, the errno Linux reports; the ICMP code is another number.",
            ),
            (
                re.compile(r"(?<![\d./])10(?![\d./])"),
                "Code 10 is 'host administratively prohibited', an older variant; read the "
                "probe's output again.",
            ),
            (
                re.compile(r"(?<!type )(?<![\d./])[13](?![\d./])"),
                "Codes 1 and 3 are 'host unreachable' and 'port unreachable'; type 3 is the "
                "message type, not its code.",
            ),
        ),
        hints=(
            "Run `labkit probe port mail.zimmerman.test 587` in a terminal and read its last line.",
        ),
        solution="13: ICMP type 3 code 13, communication administratively prohibited.",
        explanation="ICMP type 3 code 13, 'communication administratively prohibited' "
        "(RFC 1812): what `REJECT --reject-with icmp-admin-prohibited` sends. Linux turns "
        "it into EHOSTUNREACH, 'No route to host', though the route is fine.",
        variants=(
            "13",
            "code 13",
            "type 3 code 13",
            "3/13",
            "ICMP type 3, code 13 (admin prohibited)",
        ),
        rejects=("3", "113", "10", "code 3", "13 or 10", "type 3 code 10"),
    ),
    MultipleChoice(
        id="nb07.why-submission",
        title="Why clients do not send on port 25",
        prompt="From the café, port 25 times out while 587 and 465 work; from the phone's "
        "hotspot, all three work. Why do mail clients submit on 587 or 465 rather than 25?",
        choices=(
            Choice(
                "Networks often block outgoing 25 against spam; 587 and 465 need a login, so "
                "they stay open.",
                correct=True,
                feedback="RFC 6409 and RFC 8314: submission is a separate service for "
                "authenticated clients, and the one providers leave open.",
            ),
            Choice(
                "Port 25 cannot carry TLS at all, so a careful mail client must avoid sending its "
                "password over it.",
                feedback="Port 25 has STARTTLS; it is a policy that blocks it here, not a "
                "protocol limit.",
            ),
            Choice(
                "Postfix, as Debian ships it, answers mail clients only on 587 and 465 and "
                "ignores them on port 25.",
                feedback="From the hotspot, 25 worked: the server was not the one saying no.",
            ),
            Choice(
                "Port 25 is slower because it has to resolve MX records first.",
                feedback="The client connects to its own server by name; the MX lookup is the "
                "server's business afterwards.",
            ),
        ),
        hints=("Which network blocked 25, and which did not? The server was the same.",),
    ),
    MultipleChoice(
        id="nb07.implicit-tls",
        title="Why 465 defeats the box",
        prompt="The café's box rewrites port 25: it masks the banner and turns STARTTLS into "
        "XXXXXXXA. Why can it do nothing of the kind on 465?",
        choices=(
            Choice(
                "On 465 TLS starts with the first byte: the box only ever sees ciphertext.",
                correct=True,
                feedback="RFC 8314's argument for implicit TLS: no downgrade window at all.",
            ),
            Choice(
                "Boxes of this kind are only allowed to inspect port 25, under the rules that "
                "govern network operators.",
                feedback="No law: the box is configured to inspect 25, and on 465 it could not "
                "read anything even if it tried.",
            ),
            Choice(
                "On 465 the server sends no 220 banner and no EHLO reply, so there is nothing "
                "left to mask.",
                feedback="A 465 server greets with 220 like any other, inside TLS.",
            ),
            Choice(
                "465 uses UDP, which the box does not inspect.",
                feedback="SMTP is TCP on every port.",
            ),
        ),
        hints=("What is the first thing a client sends on 465, before any SMTP command?",),
    ),
)
