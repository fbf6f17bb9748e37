"""Notebook 01, talking SMTP by hand: banner, EHLO capabilities, reply codes, a mail."""

from __future__ import annotations

from labkit.exercises.questions import Choice, MultipleChoice, Numeric, Question, ShortAnswer

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
        hints=("It is in the blog's first transcript, right after 'Escape character'.",),
        explanation="220 means 'service ready'; the rest of the line is free text, often "
        "the host name and 'ESMTP'.",
    ),
    MultipleChoice(
        id="nb01.multiline-end",
        title="Where a multi-line reply ends",
        prompt="The EHLO reply spans many lines (`250-PIPELINING`, `250-SIZE 10240000`, ... "
        "`250 DSN`). How does a client know it has read the last line?",
        choices=(
            Choice(
                "The last line has a space after the code (`250 `); the others a hyphen (`250-`).",
                correct=True,
                feedback="RFC 5321 §4.2.1: `NNN-` means more lines follow, `NNN ` ends the "
                "reply. Reading until that line, not 'one recv()', is what robust clients do.",
            ),
            Choice(
                "An empty line follows the reply.",
                feedback="SMTP replies have no blank-line terminator; that is HTTP headers.",
            ),
            Choice(
                "`DSN` is always the last capability.",
                feedback="The order is up to the server; DSN happened to be last on Postfix.",
            ),
            Choice(
                "The server pauses for a moment.",
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
            ("tls", "Close, but the keyword (and the command) is STARTTLS, from RFC 3207."),
            ("ssl", "SMTP has no SSL keyword; the upgrade command is STARTTLS."),
            (
                "xxxxxxxa",
                "That is what the blogger saw *instead of* it: something on the "
                "path overwrote the keyword with eight characters.",
            ),
            ("auth", "AUTH is for logging in; the upgrade to TLS comes first."),
        ),
        hints=("It is the command the blog used with `openssl s_client -starttls smtp`.",),
        explanation="After `STARTTLS` and the TLS handshake the client sends EHLO again "
        "and gets a fresh capability list.",
    ),
    ShortAnswer(
        id="nb01.auth-keyword",
        title="The missing login capability",
        prompt="With `smtpd_tls_auth_only = yes`, the blogger's plain-text EHLO reply lacked "
        "the capability that lets a client log in. Write that line as the server sends it "
        "after STARTTLS (or just its keyword).",
        accept=("auth",),
        keyword=True,
        wrong=(
            ("plain", "PLAIN is one SASL mechanism listed *after* the keyword."),
            ("login", "LOGIN is one SASL mechanism listed *after* the keyword."),
            ("starttls", "STARTTLS was missing too, but it upgrades to TLS; it does not log in."),
            ("sasl", "SASL is the framework behind it; the EHLO keyword is different."),
        ),
        hints=("The blog quotes it: `250-... PLAIN LOGIN`.",),
        explanation="The full line is `250-AUTH PLAIN LOGIN`: the keyword AUTH, then the "
        "mechanisms the server accepts.",
    ),
    MultipleChoice(
        id="nb01.mail-order",
        title="Sending a message by hand",
        prompt="In which order do you send the commands for one message?",
        choices=(
            Choice(
                "EHLO, MAIL FROM, RCPT TO, DATA, the message ending with a lone `.`, QUIT",
                correct=True,
                feedback="Envelope sender, then each recipient, then the content; a line "
                "with a single dot ends the content.",
            ),
            Choice(
                "EHLO, RCPT TO, MAIL FROM, DATA, QUIT",
                feedback="`MAIL FROM` opens the transaction; a RCPT before it gets "
                "`503 5.5.1 Error: need MAIL command`.",
            ),
            Choice(
                "EHLO, DATA, MAIL FROM, RCPT TO, QUIT",
                feedback="DATA needs a sender and at least one accepted recipient first "
                "(`503 5.5.1 Error: need RCPT command`).",
            ),
            Choice(
                "MAIL FROM, RCPT TO, DATA, EHLO, QUIT",
                feedback="EHLO comes first: it opens the session and lists what the server "
                "supports.",
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
        hints=("It is the only 3xx (intermediate) reply in a normal session.",),
        explanation="Postfix says `354 End data with <CR><LF>.<CR><LF>`.",
    ),
)
