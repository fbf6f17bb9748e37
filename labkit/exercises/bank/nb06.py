"""Notebook 06, capstone: the blog's server, the middlebox, and what really went wrong."""

from __future__ import annotations

from labkit.exercises.questions import Choice, Matching, MultipleChoice, Question, ShortAnswer

QUESTIONS: tuple[Question, ...] = (
    MultipleChoice(
        id="nb06.masked-banner",
        title="220 **** and XXXXXXXA",
        prompt="From the laptop the banner read `220 ************************************` "
        "and EHLO listed `250-XXXXXXXA` where STARTTLS should be. The best explanation?",
        choices=(
            Choice(
                "A box on the path rewrites SMTP.",
                correct=True,
                feedback="`XXXXXXXA` has exactly the eight letters of `STARTTLS`: a rewrite in "
                "flight, typical of SMTP inspection (a Cisco ASA's `inspect esmtp`). Without "
                "STARTTLS, `smtpd_tls_auth_only` hides AUTH too.",
            ),
            Choice(
                "Postfix's `smtpd_banner` setting is misconfigured on the server.",
                feedback="Could a banner setting rewrite EHLO keywords, and what did the "
                "server show from localhost?",
            ),
            Choice(
                "The TLS certificate files are missing, so Postfix hides STARTTLS.",
                feedback="What did notebook 3 show for missing files: a log line, and what "
                "in EHLO?",
            ),
            Choice(
                "telnet garbles lines.",
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
                "The ufw firewall on the droplet blocked 465 and 587.",
                feedback="`ufw status` allowed 25, 465 and 587, and a dropping firewall "
                "causes timeouts, not refusals.",
            ),
            Choice(
                "The self-signed certificate made clients refuse the server.",
                feedback="It makes clients warn about identity, but it cannot refuse TCP "
                "connections or hide STARTTLS.",
            ),
            Choice(
                "The MX record pointing at a CNAME instead of a host.",
                feedback="Worth fixing (RFC 2181 §10.3), but the tests connected to "
                "mail.zimmerman.io directly; no MX lookup was involved.",
            ),
        ),
        hints=(
            "Take each symptom of the blog's list in turn and ask which option explains it, "
            "from the laptop *and* from the server.",
        ),
    ),
    MultipleChoice(
        id="nb06.prove-middlebox",
        title="Proving a middlebox",
        prompt="How would you best confirm that something on the laptop's network, not "
        "Postfix, removes STARTTLS?",
        choices=(
            Choice(
                "Compare EHLO from two different networks against the same server, same port.",
                correct=True,
                feedback="Same server, different paths (the server itself, a phone hotspot): "
                "if only one path loses STARTTLS, the path is to blame. The blog's own "
                "localhost test was half of this.",
            ),
            Choice(
                "Restart Postfix on the server and then try the laptop's telnet again.",
                feedback="What in the network path would a restart change?",
            ),
            Choice(
                "Search mail.log on the server for the line with `XXXXXXXA` in it.",
                feedback="Who wrote `XXXXXXXA`: Postfix, or something after it?",
            ),
            Choice(
                "Replace the self-signed certificate with a CA-signed one, then retry.",
                feedback="Can the client ever reach the certificate without STARTTLS?",
            ),
        ),
    ),
    ShortAnswer(
        id="nb06.postconf-n",
        title="Show only what you changed",
        prompt="Which command prints only the `main.cf` settings that differ from Postfix's "
        "defaults, the first thing to paste when asking for help?",
        accept=("postconf -n", "postconf -nf", "postconf -fn"),
        command=True,
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
        hints=(
            "`man postconf`: one option shows non-default settings.",
            "`postconf --help` is not a thing; `postconf -h` prints values only. Read the "
            "option list in the manual page.",
        ),
        explanation="`postconf -n` for main.cf and `postconf -M` for master.cf give a "
        "compact picture of a server's configuration.",
        variants=(
            "postconf -n",
            "$ postconf -n",
            "# postconf -n",
            "root@mx:~# postconf -n",
            "sudo postconf -n",
            "ssh mx postconf -n",
            "ssh mx 'postconf -n'",
            "/usr/sbin/postconf -n",
            "postconf -n | less",
        ),
        rejects=(
            "postconf -d",
            "postconf",
            "postconf -M",
            "echo postconf -n",
            "postconf -m",
            "cat /etc/postfix/main.cf",
        ),
    ),
    MultipleChoice(
        id="nb06.check-order",
        title="Where to look first",
        prompt="A client reports 'connection refused' on 587. Which check comes first?",
        choices=(
            Choice(
                "On the server: what listens on port 587, if anything at all.",
                correct=True,
                feedback="Refused means the host answered 'nothing here'. Confirm the "
                "listener (`ss -ltn`, `postconf -M`) before touching DNS, certificates or "
                "firewalls.",
            ),
            Choice(
                "The TLS certificate chain that the server sends to clients.",
                feedback="Where in a connection does TLS start, and did this one get there?",
            ),
            Choice(
                "The MX record of the domain and the address it leads to.",
                feedback="Did the client reach a host? Then name resolution worked.",
            ),
            Choice(
                "The SPF and DKIM records published for the domain.",
                feedback="Those matter for delivery reputation; do they play any part in a "
                "TCP connect?",
            ),
        ),
    ),
    Matching(
        id="nb06.diagnosis",
        title="Your diagnosis, graded",
        prompt="Match each of the blog's symptoms with its cause. Several causes are "
        "distractors; one cause is not a fault at all.",
        rows=(
            (
                "From the laptop, EHLO on 25 lists `XXXXXXXA` and no STARTTLS, so no AUTH",
                "Something on the laptop's network path rewrites SMTP",
            ),
            (
                "465 and 587 refused from the laptop and from the server; mail.log silent",
                "`submission` and `smtps` are not enabled in master.cf",
            ),
            (
                "From the server, mail to outside addresses is accepted without AUTH",
                "`permit_mynetworks` trusts 127.0.0.0/8: intended behaviour",
            ),
            (
                "`openssl s_client` from the server reports verify error 18",
                "The certificate is self-signed",
            ),
            (
                "`dig mail.zimmerman.test` answers with a CNAME before the address",
                "The MX names an alias: a DNS fault of its own",
            ),
        ),
        options=(
            "Something on the laptop's network path rewrites SMTP",
            "`submission` and `smtps` are not enabled in master.cf",
            "`permit_mynetworks` trusts 127.0.0.0/8: intended behaviour",
            "The certificate is self-signed",
            "The MX names an alias: a DNS fault of its own",
            "The ufw firewall drops the packets",
            "A missing certificate file disables TLS",
            "`smtpd_banner` hides the server's name",
        ),
        hints=(
            "Take one symptom at a time and ask where it was seen: laptop, server, or both.",
            "Your own notes from the diagnosis table, the doctor's second opinion and "
            "notebooks 2 to 5 each cover one row.",
        ),
        points=2.0,
    ),
)
