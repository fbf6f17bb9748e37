"""Notebook 04, AUTH and relaying: smtpd_tls_auth_only, permit_mynetworks, open relays."""

from __future__ import annotations

import re

from labkit.exercises.questions import Choice, MultipleChoice, Numeric, Question, ShortAnswer

QUESTIONS: tuple[Question, ...] = (
    ShortAnswer(
        id="nb04.tls-auth-only",
        title="AUTH only after TLS",
        prompt="Which `main.cf` parameter makes Postfix offer AUTH only on an encrypted "
        "connection? (Name it, or write the whole setting.)",
        accept=(re.compile(r"^smtpd_tls_auth_only(=yes)?$"),),
        wrong=(
            (
                re.compile(r"^smtpd_tls_security_level"),
                "That decides whether TLS is offered "
                "(`may`) or required (`encrypt`); it does not hide AUTH.",
            ),
            (
                re.compile(r"^smtpd_sasl_auth_enable"),
                "That switches AUTH on at all; another parameter hides it until TLS.",
            ),
            (
                re.compile(r"^smtp_"),
                "`smtp_*` parameters configure Postfix as a *client*; "
                "the server side is `smtpd_*`.",
            ),
            (
                re.compile(r"^smtpd_tls_auth_only=no$"),
                "With `no`, AUTH shows on plain connections too, passwords in clear text.",
            ),
        ),
        hints=("It starts with `smtpd_tls_` and the blog quotes it.",),
        solution="smtpd_tls_auth_only = yes",
        explanation="With it, AUTH appears only in the EHLO reply after STARTTLS (or on "
        "465), so passwords never cross the network in clear text.",
    ),
    MultipleChoice(
        id="nb04.auth-before-tls",
        title="STARTTLS shown, AUTH missing",
        prompt="With `smtpd_tls_auth_only = yes`, telnet to port 25 shows `250-STARTTLS` "
        "but no `250-AUTH`. Is that a fault?",
        choices=(
            Choice(
                "No: AUTH will appear in the EHLO reply after STARTTLS.",
                correct=True,
                feedback="This is the setting doing its job. The blogger's real problem was "
                "that STARTTLS itself was missing from his laptop's view.",
            ),
            Choice(
                "Yes: SASL is not configured.",
                feedback="Perhaps, but you cannot tell before STARTTLS: the setting hides AUTH "
                "on plain connections either way.",
            ),
            Choice(
                "Yes: port 25 never offers AUTH.",
                feedback="Port 25 can offer AUTH; whether it should is a policy choice "
                "(many servers offer it only on 587/465).",
            ),
        ),
    ),
    MultipleChoice(
        id="nb04.permit-mynetworks",
        title="Why sending worked from the server",
        prompt="Logged in on the server, `telnet localhost 25` let the blogger send mail to "
        "outside addresses without AUTH. Why?",
        choices=(
            Choice(
                "`permit_mynetworks`: 127.0.0.0/8 is in `mynetworks`, so local clients may "
                "relay without logging in.",
                correct=True,
                feedback="The restrictions list tries `permit_mynetworks` first; a match "
                "skips AUTH entirely.",
            ),
            Choice(
                "Connections from localhost are encrypted automatically.",
                feedback="Loopback traffic is plain text like any other; nothing negotiated TLS.",
            ),
            Choice(
                "The server is an open relay.",
                feedback="An open relay relays for *anyone*; here only local clients could, "
                "which is the intended behaviour.",
            ),
            Choice(
                "`smtpd_tls_auth_only` does not apply to localhost.",
                feedback="It applies to every client; the point is that a local client never "
                "needed AUTH to relay.",
            ),
        ),
    ),
    Numeric(
        id="nb04.relay-denied-code",
        title="Relay access denied",
        prompt="An outside client, not logged in, sends `RCPT TO:<someone@example.org>` to "
        "the lab's Postfix 3.7, whose relay restrictions end in `defer_unauth_destination`. "
        "Which reply code comes back?",
        answer=454,
        wrong=(
            (
                554,
                "554 5.7.1 is what `reject_unauth_destination` answers (permanent); "
                "`defer_unauth_destination` answers with a temporary code.",
            ),
            (250, "250 would mean the server agreed to relay: an open relay."),
            (550, "550 is 'mailbox unavailable', e.g. an unknown local user."),
            (
                530,
                "530 is 'authentication required', sent by servers that demand AUTH "
                "before MAIL; Postfix's relay check answers differently.",
            ),
        ),
        hints=("Temporary failures are 4xx.", "The enhanced status code is 4.7.1."),
        explanation="`454 4.7.1 <someone@example.org>: Relay access denied`. Either 454 or "
        "554 is a correct refusal; 250 would be the bug.",
    ),
    MultipleChoice(
        id="nb04.open-relay",
        title="Signs of an open relay",
        prompt="Which of these mean the server is an open relay? Select all that apply.",
        multi=True,
        choices=(
            Choice(
                "From outside, without AUTH, `RCPT TO:<x@example.org>` gets `250 2.1.5 Ok`.",
                correct=True,
                feedback="Accepting mail for a foreign domain from an unknown client is "
                "the definition of an open relay.",
            ),
            Choice(
                "`mynetworks = 0.0.0.0/0`.",
                correct=True,
                feedback="That makes every client on the internet 'local', so "
                "`permit_mynetworks` lets anyone relay.",
            ),
            Choice(
                "From outside, `RCPT TO:<postmaster@zimmerman.test>` gets `250`.",
                feedback="Accepting mail for its own domain is exactly what an MX must do.",
            ),
            Choice(
                "From outside, a foreign recipient gets `454 4.7.1 Relay access denied`.",
                feedback="That is the correct refusal.",
            ),
            Choice(
                "EHLO advertises STARTTLS.",
                feedback="Offering encryption has nothing to do with who may relay.",
            ),
        ),
        hints=("Relaying means accepting mail for domains the server is not responsible for.",),
    ),
)
