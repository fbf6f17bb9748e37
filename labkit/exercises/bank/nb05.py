"""Notebook 05, DNS for mail: MX targets, CNAMEs, PTR and forward-confirmed reverse DNS."""

from __future__ import annotations

import re

from labkit.exercises.questions import Choice, MultipleChoice, Numeric, Question, ShortAnswer

QUESTIONS: tuple[Question, ...] = (
    MultipleChoice(
        id="nb05.mx-cname",
        title="An MX pointing at a CNAME",
        prompt="The blog's zone had `@ MX 10 mail.zimmerman.io.` and `mail CNAME "
        "metagross.zimmerman.io.`. What is wrong with that?",
        choices=(
            Choice(
                "An MX must name a host with its own A/AAAA records, not an alias.",
                correct=True,
                feedback="RFC 2181 §10.3: the MX target must not be an alias. Point the MX "
                "straight at `metagross.zimmerman.io.` (or make `mail` an A record).",
            ),
            Choice(
                "An MX must contain an IP address, not a name.",
                feedback="The MX data is a host *name*; an IP address there is invalid.",
            ),
            Choice(
                "MX and A records cannot both exist at the apex.",
                feedback="They can: the apex usually has SOA, NS, A, MX and TXT together. "
                "Only a CNAME cannot share a name with other records.",
            ),
            Choice(
                "The CNAME is what refused the connections on 465/587.",
                feedback="DNS resolved fine (the laptop reached the server on 25). A "
                "refusal is the server's kernel answering, long after DNS.",
            ),
        ),
        hints=("Look up what RFC 2181 §10.3 says about MX and NS records.",),
    ),
    Numeric(
        id="nb05.mx-cname-rfc",
        title="Where the rule is written",
        prompt="Which RFC's section 10.3 says an MX record must not point to an alias (CNAME)?",
        answer=2181,
        wrong=(
            (1035, "RFC 1035 defines the MX record's format, not this rule."),
            (
                5321,
                "RFC 5321 §5.1 expects MX names to resolve to addresses, but the "
                "explicit 'must not be an alias' wording is elsewhere.",
            ),
            (974, "RFC 974 was the original mail-routing RFC, long obsoleted."),
        ),
        hints=("'Clarifications to the DNS Specification', 1997.",),
        explanation="RFC 2181 §10.3 covers MX and NS: both must name hosts directly.",
    ),
    ShortAnswer(
        id="nb05.dig-mx",
        title="Asking DNS for the MX",
        prompt="Which `dig` command shows the MX records of `zimmerman.test`?",
        accept=(re.compile(r"^dig\b(?=.*\bmx\b)(?=.*(?<![\w.])zimmerman\.test\b)"),),
        wrong=(
            (
                re.compile(r"^dig\s+(\S+\s+)*zimmerman\.test$"),
                "Without a type, dig asks for A records. Add the record type.",
            ),
            (re.compile(r"^(nslookup|host)\b"), "That works too, but this question asks for dig."),
            (
                re.compile(r"\bmail\.zimmerman\.test\b"),
                "MX records live on the *domain* (the part after @), not on the mail host's name.",
            ),
        ),
        hints=("`dig [name] [type]`",),
        solution="dig zimmerman.test MX",
        explanation="Add `+short` for just the answer. Then check the target: `dig "
        "mail.zimmerman.test CNAME` must return nothing.",
    ),
    MultipleChoice(
        id="nb05.fcrdns",
        title="Forward-confirmed reverse DNS",
        prompt="Receivers often check 'forward-confirmed reverse DNS' (FCrDNS) of a "
        "sending server. What is it?",
        choices=(
            Choice(
                "The IP's PTR gives a name, and that name's A/AAAA records include the same IP.",
                correct=True,
                feedback="A round trip: address to name to address. Many receivers also want "
                "the name to match the HELO/EHLO name.",
            ),
            Choice(
                "The MX record and the A record of the domain point to the same IP.",
                feedback="FCrDNS is about the sender's IP, not the receiving domain's records.",
            ),
            Choice(
                "The PTR name must equal the domain in the From: address.",
                feedback="No such rule: one server sends for many domains; only the round "
                "trip (and often HELO) must agree.",
            ),
        ),
    ),
    MultipleChoice(
        id="nb05.ptr-owner",
        title="Who sets the PTR record",
        prompt="The blogger's droplet has the IP 107.170.7.111. Where does its PTR record get set?",
        choices=(
            Choice(
                "By whoever controls the address block: the hosting provider (for "
                "DigitalOcean, via the droplet's name).",
                correct=True,
                feedback="Reverse zones (`in-addr.arpa`) belong to the address owner, so "
                "you ask or configure the provider.",
            ),
            Choice(
                "In the zimmerman.io zone, next to the A record.",
                feedback="A PTR for 107.170.7.111 lives in `111.7.170.107.in-addr.arpa`, "
                "which is not part of your domain's zone.",
            ),
            Choice(
                "In Postfix's `myhostname`.",
                feedback="`myhostname` is what Postfix calls itself (banner, HELO); DNS "
                "does not read it.",
            ),
        ),
    ),
    MultipleChoice(
        id="nb05.cname-apex",
        title="A CNAME at the apex",
        prompt="Could the blogger have put `@ CNAME username.github.io.` at the apex of "
        "zimmerman.io, next to his MX?",
        choices=(
            Choice(
                "No: a CNAME cannot coexist with other records, and the apex always has SOA "
                "and NS.",
                correct=True,
                feedback="RFC 1034 §3.6.2. That is why he used an A record for GitHub Pages "
                "at `@`, which can sit next to the MX.",
            ),
            Choice(
                "Yes, CNAMEs are allowed anywhere.",
                feedback="A name with a CNAME can have no other data, and the apex needs SOA "
                "and NS.",
            ),
            Choice(
                "Yes, if the MX is removed.",
                feedback="SOA and NS still have to be at the apex, so the CNAME is still not "
                "allowed.",
            ),
        ),
    ),
)
