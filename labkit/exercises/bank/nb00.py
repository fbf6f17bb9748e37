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
                "A line the client sent to the server.",
                correct=True,
                feedback="The blog's legend: `> ` is sent to the server, `$ ` is typed at "
                "the shell, and unmarked lines come from the server.",
            ),
            Choice(
                "A command the blogger typed at his laptop's bash prompt.",
                feedback="The legend gives the shell prompt another mark; look at the line "
                "that starts the telnet session.",
            ),
            Choice(
                "A line the server sent back in reply to a command.",
                feedback="Look at the lines that start with a reply code like `250-`: which "
                "mark do they carry?",
            ),
            Choice(
                "A quoted line from an earlier e-mail.",
                feedback="That is an e-mail convention; the blog defines its own legend right "
                "after the first transcript.",
            ),
        ),
        hints=("The blog lists its legend right after the first telnet transcript.",),
    ),
    MultipleChoice(
        id="nb00.symptoms",
        title="What the blogger saw from his laptop",
        prompt="Which of these did the blogger actually observe from his laptop? "
        "Select all that apply.",
        multi=True,
        choices=(
            Choice(
                "Port 25 answered, but EHLO listed neither STARTTLS nor AUTH.",
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
                "Port 25 refused the connection with errno 111.",
                feedback="No: port 25 answered with a 220 banner; only 465 and 587 refused.",
            ),
            Choice(
                "mail.log showed errors about the self-signed certificate.",
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
            "Check each option on its own against that list and the quotes in this "
            "notebook: was it seen, from the laptop?",
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
            ("openssl", "That is the program; the question asks for its subcommand."),
        ),
        hints=(
            "The blog's second tool: look at the command line he ran against port 465.",
            "`openssl help` lists every subcommand; one of them is the client side of a "
            "TLS connection.",
        ),
        explanation="`openssl s_client -connect host:465` for implicit TLS, or "
        "`-connect host:25 -starttls smtp` to upgrade a plain connection.",
        variants=(
            "s_client",
            "openssl s_client",
            "$ openssl s_client -connect mail.zimmerman.test:465",
            "S_CLIENT",
            "s_client, with -starttls smtp for port 25",
            "`s_client`.",
        ),
        rejects=(
            "s_server",
            "telnet",
            "openssl",
            "s_client or s_server",
            "not s_client",
            "x509",
        ),
    ),
    MultipleChoice(
        id="nb00.ehlo-purpose",
        title="Why send EHLO",
        prompt="Why does a client send `EHLO` right after the banner?",
        choices=(
            Choice(
                "To learn which extensions this server supports.",
                correct=True,
                feedback="The `250-` lines after EHLO are the server's capabilities "
                "(STARTTLS, AUTH, SIZE...): what this session may use. It also names the "
                "client.",
            ),
            Choice(
                "To log in with the mailbox's user name and password.",
                feedback="Which command in the blog's transcripts would carry a password, and "
                "when may a client send it?",
            ),
            Choice(
                "To start encrypting the rest of the conversation.",
                feedback="Encryption has its own command, which EHLO's reply may list.",
            ),
            Choice(
                "To ask the server for its IP address and host name.",
                feedback="The client already had the address: it connected to it.",
            ),
        ),
    ),
)
