"""Predict-then-check: before a notebook shows an output, the learner predicts it.

Each prediction is a single-choice question asked on a card that runs the probe only
once the prediction is locked in (:class:`labkit.widgets.PredictCard`). One try: a
prediction is a commitment, not a quiz to retry; the feedback then explains.
"""

from __future__ import annotations

from labkit.exercises.questions import Choice, MultipleChoice, Question

PREDICTIONS: tuple[Question, ...] = (
    MultipleChoice(
        id="nb01.predict-after-starttls",
        title="Predict: EHLO after STARTTLS",
        prompt="The client sends STARTTLS, completes the handshake and says EHLO again. "
        "How will the server's list of extensions change?",
        choices=(
            Choice(
                "STARTTLS disappears and AUTH appears.",
                correct=True,
                feedback="The session is already encrypted, so no STARTTLS; and with "
                "`smtpd_tls_auth_only = yes` AUTH is offered now, inside TLS.",
            ),
            Choice(
                "Nothing changes: the same list, now encrypted.",
                feedback="Compare the two columns: two keywords differ.",
            ),
            Choice(
                "AUTH disappears while STARTTLS stays listed.",
                feedback="Compare the two columns: which side has AUTH?",
            ),
            Choice(
                "The server now lists SSL instead of STARTTLS.",
                feedback="There is no SSL keyword in SMTP; compare the two columns.",
            ),
        ),
        points=0.5,
    ),
    MultipleChoice(
        id="nb02.predict-587",
        title="Predict: what will port 587 say?",
        prompt="The scanner is about to knock on 25, 465 and 587 from the laptop, in the "
        "blog's state. What will port 587 do?",
        choices=(
            Choice(
                "Refuse the connection at once, with an errno.",
                correct=True,
                feedback="ECONNREFUSED, in about a millisecond: the host answered, and "
                "nothing listens there.",
            ),
            Choice(
                "Time out after a few seconds of silence.",
                feedback="That would be a dropping firewall; look at the time column.",
            ),
            Choice(
                "Greet with 220, then demand STARTTLS.",
                feedback="That is what a working 587 does. Is anything listening here?",
            ),
            Choice(
                "Accept, then close without a word.",
                feedback="That happens through a port proxy with no listener behind it; "
                "the workstation talks to the server directly.",
            ),
        ),
        points=0.5,
    ),
    MultipleChoice(
        id="nb03.predict-starttls-no-cert",
        title="Predict: STARTTLS without a certificate",
        prompt="main.cf names certificate files that do not exist. A client on port 25 "
        "sends EHLO, then STARTTLS. What happens?",
        choices=(
            Choice(
                "STARTTLS is refused with a temporary (4xx) reply.",
                correct=True,
                feedback="`454 4.7.0 TLS not available due to local problem`: Postfix 3.7 "
                "still lists STARTTLS, then cannot do it.",
            ),
            Choice(
                "The TCP connection is refused before the banner.",
                feedback="Certificates are loaded by smtpd after it accepted the "
                "connection; look at the banner in the transcript.",
            ),
            Choice(
                "The handshake completes with a self-signed certificate.",
                feedback="There is no certificate to present at all; read the reply to STARTTLS.",
            ),
            Choice(
                "STARTTLS works, but AUTH is missing after it.",
                feedback="Read the reply to STARTTLS: did a handshake ever start?",
            ),
        ),
        points=0.5,
    ),
    MultipleChoice(
        id="nb04.predict-relay",
        title="Predict: a stranger asks to relay",
        prompt="From the laptop, without logging in, a client says `MAIL FROM:<stranger@"
        "example.net>` and `RCPT TO:<someone@example.net>`. What will RCPT get here?",
        choices=(
            Choice(
                "250 2.1.5 Ok",
                correct=True,
                feedback="Accepted: this server relays for a stranger, an open relay. The "
                "next cells show why.",
            ),
            Choice(
                "454 4.7.1 Relay access denied",
                feedback="That is what a well-configured server says; this one trusts too "
                "many networks.",
            ),
            Choice(
                "530 5.7.0 Must issue a STARTTLS command first",
                feedback="Port 25 does not demand TLS before MAIL; that is 587's rule.",
            ),
            Choice(
                "550 5.1.1 User unknown in local table",
                feedback="example.net is not this server's domain, so no local user is looked up.",
            ),
        ),
        points=0.5,
    ),
    MultipleChoice(
        id="nb05.predict-mail-a",
        title="Predict: the A record of mail",
        prompt="In the blog's zone you ask the lab's DNS for the A record of "
        "`mail.zimmerman.test`. What comes back?",
        choices=(
            Choice(
                "A CNAME to metagross, then metagross's own A record.",
                correct=True,
                feedback="The resolver follows the alias and shows both steps: `mail` is "
                "not a host of its own.",
            ),
            Choice(
                "Just one A record with the server's address.",
                feedback="Look at the record type in the second column of the answer.",
            ),
            Choice(
                "NXDOMAIN: the name does not exist.",
                feedback="The laptop reached the server by that name; it exists.",
            ),
            Choice(
                "The MX record of the zone.",
                feedback="dig answers the type you ask for (and aliases on the way).",
            ),
        ),
        points=0.5,
    ),
    MultipleChoice(
        id="nb07.predict-drop",
        title="Predict: what will port 587 do behind this firewall?",
        prompt="The server listens on 587 (`ss -ltn` on mx says so), but something on the way "
        "has a rule for 587. The card is about to connect to 25 and 587 with a 4-second "
        "timeout. What will 587 do?",
        choices=(
            Choice(
                "It times out after the full 4 seconds.",
                correct=True,
                feedback="A DROP rule: the SYN vanishes, no reset, no ICMP, and the client "
                "waits out its timeout.",
            ),
            Choice(
                "Refuse the connection at once with ECONNREFUSED, as any closed port does.",
                feedback="A refusal is a TCP reset from a host where nothing listens; here "
                "the server listens.",
            ),
            Choice(
                "Connect, since the server listens on 587.",
                feedback="It would, without the rule on the way.",
            ),
            Choice(
                "Fail at once with 'Name or service not known'.",
                feedback="Port 25 on the same name works: the name resolves.",
            ),
        ),
        points=0.5,
    ),
)
