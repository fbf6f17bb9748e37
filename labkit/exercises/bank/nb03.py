"""Notebook 03, STARTTLS and certificates: verify codes, the missing-cert log line."""

from __future__ import annotations

import re

from labkit.exercises.questions import Choice, MultipleChoice, Numeric, Question, ShortAnswer

QUESTIONS: tuple[Question, ...] = (
    MultipleChoice(
        id="nb03.verify-18",
        title="Verify return code 18",
        prompt="`openssl s_client` ends with `Verify return code: 18 (self-signed "
        "certificate)`. What does that mean for the session?",
        choices=(
            Choice(
                "The traffic is encrypted, but the server's identity is unverified: its "
                "certificate signed itself and no trusted CA vouches for it.",
                correct=True,
                feedback="Exactly the blog's trade-off ('encrypted, but people can't "
                "necessarily trust that I am who I say I am').",
            ),
            Choice(
                "The connection is not encrypted.",
                feedback="The handshake finished, so it is encrypted; verification is a "
                "separate question from encryption.",
            ),
            Choice(
                "The certificate has expired.",
                feedback="Expiry is code 10 (`certificate has expired`).",
            ),
            Choice(
                "The certificate is for another host name.",
                feedback="A name mismatch is code 62, and only with `-verify_hostname`.",
            ),
        ),
    ),
    Numeric(
        id="nb03.verify-19",
        title="An untrusted CA in the chain",
        prompt="The lab's server certificate is signed by the lab CA, and the server sends "
        "both. Your machine does not trust the lab CA yet. Which verify return code does "
        "`openssl s_client` report?",
        answer=19,
        wrong=(
            (
                18,
                "18 is a self-signed *leaf*: the server's own certificate signed itself, "
                "with no CA at all.",
            ),
            (
                20,
                "20 (unable to get local issuer certificate) is when the issuer is missing: "
                "the server sent only its leaf and the CA is neither sent nor trusted.",
            ),
            (
                21,
                "21 (unable to verify the first certificate) means the leaf's issuer "
                "could not be found at all.",
            ),
            (0, "0 is 'ok': that needs `-CAfile` pointing at the lab CA."),
        ),
        hints=(
            "The chain ends in a self-signed root that you don't trust.",
            "Its name is 'self-signed certificate in certificate chain'.",
        ),
        explanation="19 = self-signed certificate in certificate chain. Pass "
        "`-CAfile /etc/ssl/certs/labkit-ca.pem` and it becomes 0 (ok).",
    ),
    Numeric(
        id="nb03.verify-62",
        title="Host name mismatch",
        prompt="The certificate is for `metagross.zimmerman.io` but you connected with "
        "`-connect mail.zimmerman.io:465 -verify_hostname mail.zimmerman.io`. Which "
        "verify return code do you get (the CA is trusted)?",
        answer=62,
        wrong=(
            (10, "10 is an expired certificate."),
            (18, "18 is a self-signed leaf; here the CA is trusted."),
            (19, "19 is an untrusted CA in the chain; here the CA is trusted."),
            (20, "20 is a missing issuer; here the chain is complete."),
        ),
        hints=("It is the code named 'hostname mismatch'.",),
        explanation="62 = hostname mismatch. Without `-verify_hostname` (or `-verify_name`) "
        "s_client does not check names at all, so always pass it when testing.",
    ),
    ShortAnswer(
        id="nb03.missing-cert-log",
        title="The missing-certificate log line",
        prompt="With `smtpd_tls_cert_file` pointing at a file that does not exist, Postfix "
        'logs `warning: cannot get RSA certificate from file "...": disabling ____` '
        "and STARTTLS vanishes from EHLO. Fill in the blank.",
        accept=("tls support", "tls"),
        wrong=(
            (
                "starttls",
                "Close: STARTTLS disappears as a result, but the log names the "
                "whole feature it switches off.",
            ),
            ("ssl", "Postfix says TLS, not SSL."),
            (
                re.compile(r"^(auth|sasl)"),
                "AUTH is hidden too with `smtpd_tls_auth_only`, "
                "but that is a consequence; the log line is about TLS.",
            ),
        ),
        hints=("Two words; the first is the protocol.",),
        explanation="`grep -i 'disabling TLS' /var/log/mail.log` finds it. The blogger's "
        "logs stayed quiet: one more sign his certificate loaded and the fault lay elsewhere.",
    ),
    MultipleChoice(
        id="nb03.self-signed-refused",
        title="Can a certificate refuse a connection?",
        prompt="The blogger suspected his self-signed certificate caused 'connection "
        "refused' on 465/587. Could it?",
        choices=(
            Choice(
                "No: the TCP connection is refused before any TLS bytes, so no certificate "
                "is ever sent.",
                correct=True,
                feedback="A certificate problem shows up *after* connecting, as a handshake "
                "or verify error, never as ECONNREFUSED.",
            ),
            Choice(
                "Yes: clients refuse to connect to self-signed servers.",
                feedback="Clients may abort a handshake, but they report a TLS error; "
                "'refused' comes from the server's kernel.",
            ),
            Choice(
                "Yes, but only on port 465.",
                feedback="On 465 TLS starts right after connecting, but still only after "
                "the TCP connect succeeded.",
            ),
        ),
    ),
    MultipleChoice(
        id="nb03.after-starttls",
        title="The first command after STARTTLS",
        prompt="After `220 2.0.0 Ready to start TLS` and a successful handshake, what must "
        "the client send first?",
        choices=(
            Choice(
                "EHLO again.",
                correct=True,
                feedback="RFC 3207: both sides forget what was said in plain text; the new "
                "EHLO reply is the one that now lists AUTH.",
            ),
            Choice(
                "AUTH PLAIN, since the session is now secure.",
                feedback="The server has not advertised AUTH in this (new) session yet; "
                "EHLO first.",
            ),
            Choice(
                "MAIL FROM, continuing where it left off.",
                feedback="The plain-text session's state is discarded by STARTTLS.",
            ),
            Choice(
                "STARTTLS again, to confirm.",
                feedback="A second STARTTLS inside TLS is an error (`554 5.5.1 Error: TLS "
                "already active`).",
            ),
        ),
    ),
)
