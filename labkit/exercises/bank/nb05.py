"""Notebook 05, DNS for mail: MX targets, CNAMEs, PTR and forward-confirmed reverse DNS."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from labkit.exercises.questions import Choice, MultipleChoice, Numeric, Question, ShortAnswer

_RR_TYPES = frozenset(
    {"a", "aaaa", "mx", "cname", "ns", "soa", "ptr", "txt", "any", "srv", "caa", "tlsa"}
)


def _dig_query(command: str) -> tuple[str | None, str | None] | None:
    """``(name, type)`` that a ``dig`` command line asks for; None if it is not dig.

    dig takes its arguments in any order: ``dig MX zimmerman.test +short``, ``dig -t mx
    zimmerman.test``, ``dig zimmerman.test mx @ns1``. Options (``+x``, ``@server``) are
    skipped; a word that is a record type is the type, the other word the name.
    """
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    if not words or words[0].lower() != "dig":
        return None
    name = rtype = None
    args = iter(words[1:])
    for word in args:
        low = word.lower()
        if low in ("-t", "-q", "-c", "-p", "-b", "-y", "-k", "-f", "-x"):
            value = next(args, "")
            if low == "-t":
                rtype = value.lower()
            elif low == "-q":
                name = value.lower().rstrip(".")
            elif low == "-x":
                name, rtype = value, "ptr"
            continue
        if low.startswith(("+", "@", "-")):
            continue
        if low in _RR_TYPES and rtype is None:
            rtype = low
        elif name is None:
            name = low.rstrip(".")
    return name, rtype


def _asks(name: str, *types: str | None, other: bool = False) -> Callable[[str], bool]:
    """A predicate: the command is dig asking for ``name`` with one of ``types``
    (``None``: no type given), or with any type but those when ``other``."""

    def predicate(text: str) -> bool:
        query = _dig_query(text)
        if query is None or query[0] != name:
            return False
        return (query[1] not in types) if other else (query[1] in types)

    return predicate


QUESTIONS: tuple[Question, ...] = (
    MultipleChoice(
        id="nb05.mx-cname",
        title="An MX pointing at a CNAME",
        prompt="The blog's zone had `@ MX 10 mail.zimmerman.io.` and `mail CNAME "
        "metagross.zimmerman.io.`. What is wrong with that?",
        choices=(
            Choice(
                "An MX must name a host with its own address records, never an alias.",
                correct=True,
                feedback="RFC 2181 §10.3: the MX target must be a name with its own address "
                "records. Point the MX straight at `metagross` (or make `mail` an A record).",
            ),
            Choice(
                "An MX record must contain the mail server's IP address, not a host name.",
                feedback="Look at the MX line in the zone file: what kind of data follows "
                "the preference?",
            ),
            Choice(
                "MX and A records cannot both exist at the apex of the same zone.",
                feedback="Look at the zone: which records share the apex `@`, and which "
                "record type may share its name with no other?",
            ),
            Choice(
                "The CNAME is what refused the connections on ports 465 and 587.",
                feedback="Did the laptop reach the right server on port 25? Then DNS "
                "resolved fine.",
            ),
        ),
        hints=(
            "Ask DNS yourself: `dig mail.zimmerman.test A` answers with two records. Which types?",
        ),
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
            (1034, "RFC 1034 §3.6.2 is the rule that a CNAME has no other data."),
        ),
        hints=(
            "'Clarifications to the DNS Specification', 1997.",
            "The doctor's DNS finding cites it under 'learn more' (`labkit doctor` in a terminal).",
        ),
        explanation="RFC 2181 §10.3 covers MX and NS: both must name hosts directly.",
        variants=("2181", "RFC 2181", "RFC2181", "RFC 2181 §10.3", "rfc-2181, section 10.3"),
        rejects=("1035", "5321", "2181 or 1035", "RFC 1034 §3.6.2", "10.3"),
    ),
    ShortAnswer(
        id="nb05.dig-mx",
        title="Asking DNS for the MX",
        prompt="Which `dig` command shows the MX records of `zimmerman.test`?",
        accept=(_asks("zimmerman.test", "mx"),),
        command=True,
        wrong=(
            (
                _asks("zimmerman.test", None, "a"),
                "Without a type, dig asks for A records. Add the record type.",
            ),
            (
                _asks("mail.zimmerman.test", other=True),
                "MX records live on the *domain* (the part after @), not on the mail host's name.",
            ),
            (
                _asks("zimmerman.test", "mx", None, "a", other=True),
                "That asks for another record type than MX.",
            ),
            (re.compile(r"^(nslookup|host)\b"), "That works too, but this question asks for dig."),
        ),
        hints=("`man dig`: `dig [@server] name [type]`.",),
        solution="dig zimmerman.test MX",
        explanation="Add `+short` for just the answer. Then check the target: `dig "
        "mail.zimmerman.test CNAME` must return nothing.",
        variants=(
            "dig zimmerman.test MX",
            "dig +short MX zimmerman.test",
            "$ dig -t mx zimmerman.test.",
            "learner@workstation:~$ dig zimmerman.test mx @ns1.zimmerman.test",
            "dig MX zimmerman.test +short | sort",
            "/usr/bin/dig zimmerman.test MX",
        ),
        rejects=(
            "dig zimmerman.test AAAA +short; echo mx",
            "dig zimmerman.test",
            "dig mail.zimmerman.test MX",
            "host -t mx zimmerman.test",
            "echo dig zimmerman.test MX",
            "dig zimmerman.test TXT  # mx",
        ),
    ),
    MultipleChoice(
        id="nb05.fcrdns",
        title="Forward-confirmed reverse DNS",
        prompt="Receivers often check 'forward-confirmed reverse DNS' (FCrDNS) of a "
        "sending server. What is it?",
        choices=(
            Choice(
                "The IP's PTR names a host whose A/AAAA records include that same IP address.",
                correct=True,
                feedback="A round trip: address to name to address. Many receivers also want "
                "the name to match the HELO/EHLO name.",
            ),
            Choice(
                "The MX record and the A record of the domain point to the same IP address.",
                feedback="Whose address does a receiver look up: the sender's, or its own "
                "domain's?",
            ),
            Choice(
                "The PTR name must equal the domain in the message's From: address.",
                feedback="One server sends for many domains: could that ever work for a "
                "mail provider?",
            ),
        ),
    ),
    MultipleChoice(
        id="nb05.ptr-owner",
        title="Who sets the PTR record",
        prompt="The blogger's droplet has the IP 107.170.7.111. Where does its PTR record get set?",
        choices=(
            Choice(
                "With the owner of the address block: the hosting provider.",
                correct=True,
                feedback="Reverse zones (`in-addr.arpa`) belong to the address owner, so "
                "you ask or configure the provider (on DigitalOcean, via the droplet's name).",
            ),
            Choice(
                "In the zimmerman.io zone file, right next to the domain's A record.",
                feedback="Which zone does the name `111.7.170.107.in-addr.arpa` belong to?",
            ),
            Choice(
                "In Postfix's `myhostname`, which the mail server announces in its banner.",
                feedback="Does DNS ever read a mail server's configuration?",
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
                "No: a CNAME allows no other records, and the apex needs SOA and NS.",
                correct=True,
                feedback="RFC 1034 §3.6.2. That is why he used an A record for GitHub Pages "
                "at `@`, which can sit next to the MX.",
            ),
            Choice(
                "Yes, CNAMEs are allowed anywhere.",
                feedback="What else lives at the apex of every zone?",
            ),
            Choice(
                "Yes, if the MX is removed.",
                feedback="Which records would still be at the apex without the MX?",
            ),
        ),
    ),
)
