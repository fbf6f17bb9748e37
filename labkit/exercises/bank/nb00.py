"""Notebook 00, welcome: the blog post, its notation and what went wrong."""

from __future__ import annotations

from labkit.exercises.questions import Choice, MultipleChoice, Question, ShortAnswer

QUESTIONS: tuple[Question, ...] = (
    MultipleChoice(
        id="nb00.transcript-legend",
        title="Reading the blog's transcripts",
        prompt="In the blog's transcripts, what does a line starting with `> ` mean?",
        choices=(
            Choice(
                "A line typed by the learner and sent to the server.",
                correct=True,
                feedback="The blog's legend: `> ` is sent to the server, `$ ` is typed at "
                "the shell, and unmarked lines come from the server.",
            ),
            Choice(
                "A command typed at the bash prompt.",
                feedback="That is `$ `, as in `$ telnet mail.zimmerman.io 25`.",
            ),
            Choice(
                "A line the server sent back.",
                feedback="Server lines carry no marker; they start with a reply code like `250-`.",
            ),
            Choice(
                "A quoted line from an earlier e-mail.",
                feedback="That is an e-mail convention; in the transcripts `>` marks what "
                "the client sent.",
            ),
        ),
        hints=("The blog lists the legend right after the first telnet transcript.",),
    ),
    MultipleChoice(
        id="nb00.symptoms",
        title="What the blogger saw from his laptop",
        prompt="Which of these did the blogger actually observe from his laptop? "
        "Select all that apply.",
        multi=True,
        choices=(
            Choice(
                "Port 25 accepted the connection, but EHLO listed neither STARTTLS nor AUTH.",
                correct=True,
                feedback="Yes: telnet to 25 worked, yet no `250-STARTTLS` and no `250-AUTH`.",
            ),
            Choice(
                "Ports 465 and 587 refused the connection.",
                correct=True,
                feedback="Yes: both telnet and openssl reported 'connection refused'.",
            ),
            Choice(
                "openssl printed `connect:errno=61`.",
                correct=True,
                feedback="Yes: 61 is ECONNREFUSED on macOS, where the laptop ran.",
            ),
            Choice(
                "Port 25 refused the connection.",
                feedback="No: port 25 answered with a 220 banner; only 465 and 587 refused.",
            ),
            Choice(
                "mail.log showed certificate errors.",
                feedback="No: he stressed that nothing showed up in the logs, which is "
                "itself a clue that the refusals never reached Postfix.",
            ),
            Choice(
                "`ufw status` showed 465 and 587 blocked.",
                feedback="No: ufw showed 25, 465 and 587 as ALLOW, which is why he ruled "
                "out the firewall.",
            ),
        ),
        hints=(
            "Re-read the bulleted 'diagnostic list' in the section 'The Problems Set In'.",
            "Three options are right.",
        ),
    ),
    ShortAnswer(
        id="nb00.tls-client",
        title="The TLS-speaking telnet",
        prompt="Which `openssl` subcommand opens an interactive TLS connection to a "
        "server, like telnet but encrypted? (Just the subcommand.)",
        accept=("s_client", "openssl s_client"),
        wrong=(
            ("telnet", "telnet speaks plain text only; it cannot do TLS."),
            ("s_server", "`s_server` is the server side; to connect you want the client."),
            ("x509", "`openssl x509` reads certificates from files; it does not connect."),
        ),
        hints=("Its name ends in `_client`.",),
        explanation="`openssl s_client -connect host:465` for implicit TLS, or "
        "`-connect host:25 -starttls smtp` to upgrade a plain connection.",
    ),
    MultipleChoice(
        id="nb00.ehlo-purpose",
        title="Why send EHLO",
        prompt="Why does a client send `EHLO` right after the banner?",
        choices=(
            Choice(
                "To identify itself and get the list of extensions the server supports.",
                correct=True,
                feedback="The `250-` lines after EHLO are the server's capabilities "
                "(STARTTLS, AUTH, SIZE...): what this session may use.",
            ),
            Choice(
                "To log in.",
                feedback="Logging in is `AUTH`, and only if EHLO advertised it.",
            ),
            Choice(
                "To start encryption.",
                feedback="Encryption starts with `STARTTLS`, after EHLO listed it.",
            ),
            Choice(
                "To ask for the server's IP address.",
                feedback="DNS gave the client that address before it could connect.",
            ),
        ),
    ),
)
