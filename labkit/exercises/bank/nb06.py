"""Notebook 06, capstone: the blog's server, the middlebox, and what really went wrong."""

from __future__ import annotations

from labkit.exercises.questions import Choice, MultipleChoice, Question, ShortAnswer

QUESTIONS: tuple[Question, ...] = (
    MultipleChoice(
        id="nb06.masked-banner",
        title="220 **** and XXXXXXXA",
        prompt="From the laptop the banner read `220 ************************************` "
        "and EHLO listed `250-XXXXXXXA` where STARTTLS should be. The best explanation?",
        choices=(
            Choice(
                "An SMTP-inspecting middlebox on the path (Cisco ASA style) masks the banner "
                "and overwrites STARTTLS so it cannot be used.",
                correct=True,
                feedback="`XXXXXXXA` has exactly the eight letters of `STARTTLS`: a rewrite in "
                "flight. Without STARTTLS, `smtpd_tls_auth_only` hides AUTH too.",
            ),
            Choice(
                "Postfix's `smtpd_banner` is misconfigured.",
                feedback="A banner setting cannot rewrite EHLO keywords, and from the server "
                "itself the banner and STARTTLS looked normal.",
            ),
            Choice(
                "The TLS certificate is missing.",
                feedback="Then STARTTLS would be *absent* (with a log line), not replaced by "
                "eight Xs.",
            ),
            Choice(
                "telnet garbles lines it does not understand.",
                feedback="telnet shows the bytes it receives; something else changed them.",
            ),
        ),
        hints=(
            "Count the letters in XXXXXXXA, and compare with what the server showed "
            "from localhost.",
        ),
    ),
    MultipleChoice(
        id="nb06.root-causes",
        title="The real root causes",
        prompt="Which of these actually caused the blog's symptoms? Select all that apply.",
        multi=True,
        choices=(
            Choice(
                "`submission` and `smtps` were not enabled in master.cf.",
                correct=True,
                feedback="Nothing listened on 587/465, hence 'refused' from everywhere, "
                "localhost included, and silent logs.",
            ),
            Choice(
                "A middlebox on the laptop's network path stripped STARTTLS.",
                correct=True,
                feedback="No STARTTLS from the laptop, so with `smtpd_tls_auth_only = yes` "
                "no AUTH either; from the server both worked.",
            ),
            Choice(
                "The ufw firewall.",
                feedback="`ufw status` allowed 25, 465 and 587, and a dropping firewall "
                "causes timeouts, not refusals.",
            ),
            Choice(
                "The self-signed certificate.",
                feedback="It makes clients warn about identity, but it cannot refuse TCP "
                "connections or hide STARTTLS.",
            ),
            Choice(
                "The MX pointing at a CNAME.",
                feedback="Worth fixing (RFC 2181 §10.3), but the tests connected to "
                "mail.zimmerman.io directly; no MX lookup was involved.",
            ),
        ),
        hints=("Two separate faults: one explains 465/587, the other explains port 25's EHLO.",),
    ),
    MultipleChoice(
        id="nb06.prove-middlebox",
        title="Proving a middlebox",
        prompt="How would you best confirm that something on the laptop's network, not "
        "Postfix, removes STARTTLS?",
        choices=(
            Choice(
                "Compare EHLO on port 25 from the laptop with EHLO from another network (the "
                "server itself, a phone hotspot) against the same server.",
                correct=True,
                feedback="Same server, different paths: if only one path loses STARTTLS, the "
                "path is to blame. The blog's own localhost test was half of this.",
            ),
            Choice(
                "Restart Postfix and try again.",
                feedback="A restart changes nothing in the network path.",
            ),
            Choice(
                "Read mail.log for the XXXXXXXA line.",
                feedback="Postfix never sent it; the rewrite happened after the reply left "
                "the server.",
            ),
            Choice(
                "Replace the self-signed certificate with a CA-signed one.",
                feedback="The certificate is never reached: the client cannot even issue STARTTLS.",
            ),
        ),
    ),
    ShortAnswer(
        id="nb06.postconf-n",
        title="Show only what you changed",
        prompt="Which command prints only the `main.cf` settings that differ from Postfix's "
        "defaults, the first thing to paste when asking for help?",
        accept=("postconf -n",),
        case_sensitive=True,
        wrong=(
            ("postconf", "Without an option it prints every parameter, hundreds of lines."),
            ("postconf -d", "`-d` prints the *defaults*, the opposite of what is wanted."),
            ("postconf -m", "`-m` lists lookup table types."),
            ("postconf -M", "`-M` prints master.cf services: useful for 465/587, but not main.cf."),
            (
                "cat /etc/postfix/main.cf",
                "That shows comments and duplicates too; Postfix "
                "has a command that shows the effective non-default values.",
            ),
        ),
        hints=("It is `postconf` with one option letter.",),
        explanation="`postconf -n` for main.cf and `postconf -M` for master.cf give a "
        "compact picture of a server's configuration.",
    ),
    MultipleChoice(
        id="nb06.check-order",
        title="Where to look first",
        prompt="A client reports 'connection refused' on 587. Which check comes first?",
        choices=(
            Choice(
                "On the server: does anything listen on 587 (`ss -ltnp`, `postconf -M`)?",
                correct=True,
                feedback="Refused means the host answered 'nothing here'. Confirm the "
                "listener before touching DNS, certificates or firewalls.",
            ),
            Choice(
                "The TLS certificate chain.",
                feedback="TLS is several steps after a refused TCP connect.",
            ),
            Choice(
                "The MX record.",
                feedback="The client already reached the host, so name resolution worked.",
            ),
            Choice(
                "SPF and DKIM records.",
                feedback="Those matter for delivery reputation, not for connecting.",
            ),
        ),
    ),
)
