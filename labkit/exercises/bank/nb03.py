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
                "Encrypted, but nobody vouches for the server's identity.",
                correct=True,
                feedback="Exactly the blog's trade-off ('encrypted, but people can't "
                "necessarily trust that I am who I say I am').",
            ),
            Choice(
                "The connection fell back to plain text because verification failed.",
                feedback="Look further down the s_client output: is there a cipher, and a "
                "TLS version?",
            ),
            Choice(
                "The certificate's validity period has ended, so it has expired.",
                feedback="Expiry has its own code; compare `notAfter` with today's date.",
            ),
            Choice(
                "The certificate names another host than the one you connected to.",
                feedback="A name mismatch has its own code, and s_client checks names only "
                "when asked to.",
            ),
        ),
        hints=(
            "s_client prints a verify error and then carries on: what did the handshake "
            "still produce?",
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
            (0, "0 is 'ok': that needs a CA file that contains the lab CA."),
        ),
        hints=(
            "The chain ends in a self-signed root that you don't trust.",
            "Play that machine: `openssl s_client ... -CAfile "
            "/etc/ssl/certs/ca-certificates.crt.dist` uses a bundle without the lab CA; "
            "read the verify return code.",
        ),
        explanation="19 = self-signed certificate in certificate chain. With a CA file "
        "that contains the lab CA it becomes 0 (ok).",
        variants=(
            "19",
            "Verify return code: 19",
            "19 (self-signed certificate in certificate chain)",
            "error 19",
            "num=19",
        ),
        rejects=("18", "20", "18 or 19", "0", "21"),
    ),
    Numeric(
        id="nb03.verify-62",
        title="Host name mismatch",
        prompt="The certificate is for `metagross.zimmerman.test` but you connected with "
        "`-connect mail.zimmerman.test:465 -verify_hostname mail.zimmerman.test`. Which "
        "verify return code do you get (the CA is trusted)?",
        answer=62,
        wrong=(
            (10, "10 is an expired certificate."),
            (18, "18 is a self-signed leaf; here the CA is trusted."),
            (19, "19 is an untrusted CA in the chain; here the CA is trusted."),
            (20, "20 is a missing issuer; here the chain is complete."),
        ),
        hints=(
            "The server has a certificate for the wrong name ready: "
            "`/etc/ssl/lab/selfsigned.crt` is for metagross.",
            "`openssl verify -verify_hostname mail.zimmerman.test -CAfile ca.crt CERT` on "
            "the server prints the code for a certificate of your choice.",
        ),
        explanation="62 = hostname mismatch. Without `-verify_hostname` (or `-verify_name`) "
        "s_client does not check names at all, so always pass it when testing.",
        variants=("62", "error 62", "62 (hostname mismatch)", "verify error:num=62", "code 62"),
        rejects=("18", "19", "62 or 18", "10", "0"),
    ),
    ShortAnswer(
        id="nb03.missing-cert-log",
        title="The missing-certificate log line",
        prompt="With `smtpd_tls_cert_file` pointing at a file that does not exist, Postfix "
        'logs `warning: cannot get RSA certificate from file "...": disabling ____`. '
        "Fill in the blank.",
        accept=("tls support", "tls"),
        wrong=(
            (
                "starttls",
                "Close: STARTTLS fails as a result, but the log names the whole feature it "
                "switches off.",
            ),
            ("ssl", "Postfix says TLS, not SSL."),
            (
                re.compile(r"(?<![\w-])(?:auth|sasl)(?![\w-])"),
                "AUTH is hidden too with `smtpd_tls_auth_only`, "
                "but that is a consequence; the log line is about TLS.",
            ),
            ("smtpd", "smtpd keeps running; it switches one feature off."),
        ),
        hints=(
            "Read it in the server's own words: `grep -i 'cannot get' /var/log/mail.log` on mx.",
        ),
        explanation="`grep -i 'disabling TLS' /var/log/mail.log` finds it. The blogger's "
        "logs stayed quiet: one more sign his certificate loaded and the fault lay elsewhere.",
        variants=(
            "TLS support",
            "tls",
            "disabling TLS support",
            '"TLS support"',
            "TLS support (so STARTTLS fails with 454)",
        ),
        rejects=("STARTTLS", "SSL", "AUTH", "TLS or SSL", "not TLS support", "smtpd"),
    ),
    MultipleChoice(
        id="nb03.self-signed-refused",
        title="Can a certificate refuse a connection?",
        prompt="The blogger suspected his self-signed certificate caused 'connection "
        "refused' on 465/587. Could it?",
        choices=(
            Choice(
                "No: TCP is refused before any certificate is sent.",
                correct=True,
                feedback="A certificate problem shows up *after* connecting, as a handshake "
                "or verify error, never as ECONNREFUSED.",
            ),
            Choice(
                "Yes: clients refuse to connect to servers whose certificate is self-signed.",
                feedback="Which side's kernel says 'refused', and when does the client "
                "first see the certificate?",
            ),
            Choice(
                "Yes, but only on port 465, where TLS starts at once.",
                feedback="Even on 465, TLS starts only after the TCP connect succeeded.",
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
                "EHLO again, to get the new capability list.",
                correct=True,
                feedback="RFC 3207: both sides forget what was said in plain text; the new "
                "EHLO reply is the one that now lists AUTH.",
            ),
            Choice(
                "AUTH PLAIN, since the session is now secure.",
                feedback="In this new session, has the server advertised anything yet?",
            ),
            Choice(
                "MAIL FROM, continuing where it left off.",
                feedback="What happens to the plain-text session's state at STARTTLS?",
            ),
            Choice(
                "STARTTLS again.",
                feedback="Try it with s_client: Postfix answers `554 5.5.1 Error: TLS "
                "already active`.",
            ),
        ),
        hints=("RFC 3207 §4.2 says what both sides must forget after the handshake.",),
    ),
)
