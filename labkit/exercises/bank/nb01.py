"""Notebook 01, talking SMTP by hand: banner, EHLO capabilities, reply codes, a mail."""

from __future__ import annotations

import re

from labkit.exercises.questions import Choice, MultipleChoice, Numeric, Question, ShortAnswer

#: ``AUTH`` with any SASL mechanisms after it, as the EHLO line lists them.
_AUTH_LINE = re.compile(
    r"(?<![\w-])auth(?:[ =](?:plain|login|cram-md5|digest-md5|xoauth2|"
    r"oauthbearer|scram-sha-\S+|gssapi|ntlm))*(?![\w-])"
)

QUESTIONS: tuple[Question, ...] = (
    Numeric(
        id="nb01.banner-code",
        title="The greeting's reply code",
        prompt="A server greets a new connection with a banner. Which reply code starts it?",
        answer=220,
        wrong=(
            (
                250,
                "250 answers a command that succeeded (EHLO, MAIL, RCPT); the greeting "
                "comes before any command.",
            ),
            (221, "221 is the goodbye after `QUIT`."),
            (354, "354 invites the message text after `DATA`."),
            (554, "554 as a greeting means 'no service for you', e.g. a blocklisted client."),
        ),
        hints=(
            "Look at your own telnet session: the first line after 'Escape character'.",
            "The blog's first transcript has it too, even with the text masked.",
        ),
        explanation="220 means 'service ready'; the rest of the line is free text, often "
        "the host name and 'ESMTP'.",
        variants=("220", "`220`", "code 220", "220 service ready", "220 (then the host name)"),
        rejects=("250", "220 or 250", "554", "2xx", "221"),
    ),
    MultipleChoice(
        id="nb01.multiline-end",
        title="Where a multi-line reply ends",
        prompt="The EHLO reply spans many lines (`250-PIPELINING`, `250-SIZE 10240000`, ... "
        "`250 CHUNKING`). How does a client know it has read the last line?",
        choices=(
            Choice(
                "Its code is followed by a space, not a hyphen.",
                correct=True,
                feedback="RFC 5321 §4.2.1: `NNN-` means more lines follow, `NNN ` ends the "
                "reply. Reading until that line, not 'one recv()', is what robust clients do.",
            ),
            Choice(
                "A blank line follows it.",
                feedback="Look at the transcript: is there a blank line anywhere in it?",
            ),
            Choice(
                "The server always lists DSN or CHUNKING as its last capability.",
                feedback="Compare the lab's list with the blog's: do they end with the same "
                "keyword?",
            ),
            Choice(
                "The server pauses for a moment before it says anything more.",
                feedback="Timing is not a protocol: on a slow link a pause can come anywhere.",
            ),
        ),
    ),
    ShortAnswer(
        id="nb01.starttls-keyword",
        title="The keyword for upgrading to TLS",
        prompt="Which EHLO keyword must the server advertise before a client may upgrade "
        "the connection to TLS?",
        accept=("starttls",),
        keyword=True,
        wrong=(
            ("tls", "Close, but the EHLO keyword (and the command) is longer."),
            ("ssl", "SMTP has no SSL keyword; look at the lab's EHLO list for the upgrade."),
            (
                "xxxxxxxa",
                "That is what the blogger saw *instead of* it: something on the "
                "path overwrote the keyword with eight characters.",
            ),
            (_AUTH_LINE, "AUTH is for logging in; the upgrade to TLS comes first."),
        ),
        hints=(
            "Compare the lab's EHLO list with the blog's: which keyword has eight letters, "
            "like the blog's `XXXXXXXA`?",
            "RFC 3207 defines it; its title names it.",
        ),
        explanation="After `STARTTLS` and the TLS handshake the client sends EHLO again "
        "and gets a fresh capability list.",
        variants=(
            "STARTTLS",
            "250-STARTTLS",
            "starttls, defined in RFC 3207",
            "STARTTLS (not XXXXXXXA)",
            "> STARTTLS",
            "STARTTLS, which appears before AUTH",
        ),
        rejects=(
            "starttls is wrong, the answer is AUTH",
            "TLS",
            "AUTH or STARTTLS",
            "not starttls",
            "XXXXXXXA",
            "AUTH",
        ),
    ),
    ShortAnswer(
        id="nb01.auth-keyword",
        title="The missing login capability",
        prompt="With `smtpd_tls_auth_only = yes`, the blogger's plain-text EHLO reply lacked "
        "the capability that lets a client log in. Write that line as the server sends it "
        "after STARTTLS (or just its keyword).",
        accept=(_AUTH_LINE,),
        solution="250-AUTH PLAIN LOGIN",
        keyword=True,
        wrong=(
            ("plain", "PLAIN is one SASL mechanism listed *after* the keyword."),
            ("login", "LOGIN is one SASL mechanism listed *after* the keyword."),
            ("starttls", "STARTTLS was missing too, but it upgrades to TLS; it does not log in."),
            ("sasl", "SASL is the framework behind it; the EHLO keyword is different."),
        ),
        hints=(
            "Look at the 'after TLS' column of the comparison above: which line is new?",
            "The blog quotes the whole line in its paragraph about `smtpd_tls_auth_only`.",
        ),
        explanation="The full line is `250-AUTH PLAIN LOGIN`: the keyword AUTH, then the "
        "mechanisms the server accepts.",
        variants=(
            "AUTH",
            "250-AUTH PLAIN LOGIN",
            "auth plain login",
            "AUTH, which only appears after STARTTLS",
            "AUTH (RFC 4954)",
            "250-AUTH=PLAIN LOGIN",
        ),
        rejects=("PLAIN", "STARTTLS", "AUTH or STARTTLS", "not AUTH", "SASL", "PLAIN LOGIN"),
    ),
    MultipleChoice(
        id="nb01.mail-order",
        title="Sending a message by hand",
        prompt="In which order do you send the commands for one message?",
        choices=(
            Choice(
                "EHLO, MAIL FROM, RCPT TO, DATA, QUIT",
                correct=True,
                feedback="Envelope sender, then each recipient, then the content; a line "
                "with a single dot ends the content.",
            ),
            Choice(
                "EHLO, RCPT TO, MAIL FROM, DATA, QUIT",
                feedback="Try it in telnet: what does Postfix answer to a RCPT that comes first?",
            ),
            Choice(
                "EHLO, DATA, MAIL FROM, RCPT TO, QUIT",
                feedback="Try it in telnet: what does Postfix answer to a DATA that comes first?",
            ),
            Choice(
                "MAIL FROM, RCPT TO, DATA, EHLO, QUIT",
                feedback="What does a server need to know before the first transaction?",
            ),
        ),
    ),
    Numeric(
        id="nb01.data-code",
        title="Go ahead with the message",
        prompt="After you send `DATA`, which reply code tells you to start typing the message?",
        answer=354,
        wrong=(
            (250, "250 comes at the end, after the lone `.`, when the message is queued."),
            (220, "220 is the greeting, or the go-ahead after STARTTLS."),
            (503, "503 is 'bad sequence': DATA before an accepted RCPT."),
        ),
        hints=(
            "The reply-code table above says which first digit means 'go ahead, I am "
            "waiting for more'.",
            "Send `DATA` in your telnet session (after MAIL FROM and RCPT TO) and read the reply.",
        ),
        explanation="Postfix says `354 End data with <CR><LF>.<CR><LF>`.",
        variants=(
            "354",
            "354 End data with <CR><LF>.<CR><LF>",
            "code 354",
            "354 (go ahead)",
            "354, then the message and a lone dot",
        ),
        rejects=("250", "3xx", "354 or 250", "220", "503"),
    ),
)
