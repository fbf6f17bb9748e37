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
        accept=(re.compile(r"(?<![\w-])smtpd_tls_auth_only(?:=yes)?(?![\w=-])"),),
        wrong=(
            (
                re.compile(r"(?<![\w-])smtpd_tls_security_level\S*"),
                "That decides whether TLS is offered (`may`) or required (`encrypt`); it "
                "does not hide AUTH.",
            ),
            (
                re.compile(r"(?<![\w-])smtpd_sasl_auth_enable\S*"),
                "That switches AUTH on at all; another parameter hides it until TLS.",
            ),
            (
                re.compile(r"(?<![\w-])smtp_\w+\S*"),
                "`smtp_*` parameters configure Postfix as a *client*; "
                "the server side is `smtpd_*`.",
            ),
            (
                re.compile(r"(?<![\w-])smtpd_tls_auth_only=(?:no|false|0)(?![\w-])"),
                "With `no`, AUTH shows on plain connections too, passwords in clear text.",
            ),
        ),
        hints=(
            "The blog quotes the parameter in its paragraph about `250-AUTH PLAIN LOGIN`.",
            "`postconf | grep auth_only` on mx lists the candidates.",
        ),
        solution="smtpd_tls_auth_only = yes",
        explanation="With it, AUTH appears only in the EHLO reply after STARTTLS (or on "
        "465), so passwords never cross the network in clear text.",
        variants=(
            "smtpd_tls_auth_only",
            "smtpd_tls_auth_only = yes",
            "smtpd_tls_auth_only=yes",
            "postconf -e smtpd_tls_auth_only=yes",
            "$ sudo postconf -e 'smtpd_tls_auth_only = yes'",
            "ssh mx postconf -e smtpd_tls_auth_only=yes",
            "SMTPD_TLS_AUTH_ONLY = YES",
        ),
        rejects=(
            "smtpd_tls_auth_only = no",
            "smtpd_tls_security_level = encrypt",
            "smtp_tls_auth_only",
            "smtpd_sasl_auth_enable = yes",
            "smtpd_tls_auth_only or smtpd_tls_security_level",
        ),
    ),
    MultipleChoice(
        id="nb04.auth-before-tls",
        title="STARTTLS shown, AUTH missing",
        prompt="With `smtpd_tls_auth_only = yes`, telnet to port 25 shows `250-STARTTLS` "
        "but no `250-AUTH`. Is that a fault?",
        choices=(
            Choice(
                "No: the setting hides AUTH until STARTTLS has succeeded, then lists it.",
                correct=True,
                feedback="This is the setting doing its job. The blogger's real problem was "
                "that STARTTLS itself was missing from his laptop's view.",
            ),
            Choice(
                "Yes: SASL is not configured, so Postfix cannot offer any login.",
                feedback="Can you tell that before STARTTLS, with this setting? Compare the "
                "two EHLO lists.",
            ),
            Choice(
                "Yes: a server must offer AUTH on port 25 to every client.",
                feedback="Whether port 25 offers AUTH at all is a policy choice; many "
                "servers offer it only on 587/465.",
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
                "127.0.0.1 is in `mynetworks`, which `permit_mynetworks` lets relay.",
                correct=True,
                feedback="`permit_mynetworks` comes first in the relay restrictions; a "
                "match skips AUTH entirely.",
            ),
            Choice(
                "Connections from localhost are encrypted automatically by the kernel.",
                feedback="Read the localhost dialog above: was there a STARTTLS?",
            ),
            Choice(
                "The server is an open relay that accepts mail for anybody.",
                feedback="Would the laptop have been able to do the same? Look at who may relay.",
            ),
            Choice(
                "`smtpd_tls_auth_only` does not apply to clients on localhost.",
                feedback="It applies to every client; ask instead which rule let this "
                "client relay without AUTH.",
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
                "`defer_unauth_destination` defers.",
            ),
            (250, "250 would mean the server agreed to relay: an open relay."),
            (550, "550 is 'mailbox unavailable', e.g. an unknown local user."),
            (
                530,
                "530 is 'authentication required' or 'STARTTLS first', sent before MAIL; "
                "Postfix's relay check answers at RCPT, differently.",
            ),
            (
                450,
                "450 is a temporary mailbox problem (greylisting uses it); the relay check "
                "has its own code.",
            ),
        ),
        hints=(
            "`defer_` means the answer is temporary: which first digit is that?",
            "Run the relay test (swaks from the laptop, stopping at RCPT) after your fix and "
            "read the reply, or `grep 'Relay access denied' /var/log/mail.log` on mx.",
        ),
        explanation="`454 4.7.1 <someone@example.org>: Relay access denied`. Either 454 or "
        "554 is a correct refusal; 250 would be the bug.",
        variants=(
            "454",
            "454 4.7.1",
            "454 4.7.1 <someone@example.org>: Relay access denied",
            "454 (not 554)",
            "a 454",
        ),
        rejects=("554", "250", "454 or 554", "4.7.1", "530", "450"),
    ),
    MultipleChoice(
        id="nb04.open-relay",
        title="Signs of an open relay",
        prompt="Which of these mean the server is an open relay? Select all that apply.",
        multi=True,
        choices=(
            Choice(
                "From outside, no AUTH: `RCPT TO:<x@example.org>` gets `250 2.1.5 Ok`.",
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
                "From outside, `RCPT TO:<postmaster@zimmerman.test>` gets `250 2.1.5 Ok`.",
                feedback="Accepting mail for its own domain is exactly what an MX must do.",
            ),
            Choice(
                "From outside, a foreign recipient gets `454 4.7.1 Relay access denied`.",
                feedback="That is the correct refusal.",
            ),
            Choice(
                "EHLO advertises STARTTLS and `AUTH PLAIN LOGIN` to every client.",
                feedback="Offering encryption or a login says nothing about who may relay "
                "without one.",
            ),
        ),
        hints=("Relaying means accepting mail for domains the server is not responsible for.",),
    ),
)
