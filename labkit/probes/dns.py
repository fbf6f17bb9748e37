"""DNS for mail, asked of one explicit nameserver, with every outcome kept apart.

"It doesn't resolve" hides five different answers, and each one points somewhere
else, so :class:`DnsOutcome` keeps them distinct (as dnspython's NXDOMAIN, NoAnswer,
NoNameservers and LifetimeTimeout are):

``NOERROR``   records of the asked type exist;
``NXDOMAIN``  the name does not exist at all (a typo, or a missing record);
``NOANSWER``  the name exists but has no record of this type (e.g. MX but no A);
``TIMEOUT``   no reply: the server is down, or a firewall drops port 53;
``SERVFAIL``  the server tried and failed (broken delegation, DNSSEC failure);
``REFUSED``   the server will not answer for this name (not its zone, no recursion).

:func:`lookup` sends the queries itself (UDP, TCP when truncated) instead of using a
caching stub resolver, so the rcode and the CNAME chain stay visible, and so tests
can point it at a tiny server on 127.0.0.1 with any port.

:func:`mail_dns_report` runs the checks the blog needed and names the rule each
finding rests on. The blog's zone had ``MX 10 mail`` with ``mail CNAME metagross``:
an MX target that is an alias, which RFC 2181 §10.3 and RFC 5321 §5.1 forbid. It
also had the apex ``A`` pointing at a web host, which the author suspected but which
is harmless: mail follows the MX, not the apex address.

This module is the boundary for ``dns.*`` exceptions.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, TypeVar

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.reversename

from labkit.errors import UsageError
from labkit.limits import MIN_TIMEOUT, check_port, check_timeout

__all__ = [
    "DnsAnswer",
    "DnsIssue",
    "DnsOutcome",
    "DnsRecord",
    "DnsRule",
    "MailDnsReport",
    "MxHost",
    "ReverseDns",
    "diagnose_mail_dns",
    "lookup",
    "mail_dns_report",
    "ptr_names_match",
    "reverse_lookup",
    "spf_records",
]

MAX_CNAME_HOPS = 8
#: MX targets a report looks up, and PTR names it checks back. Real domains have 1-5
#: MX records and one PTR name; a hostile zone must not make the work grow with it.
MAX_MX_TARGETS = 10
MAX_PTR_NAMES = 5
Severity = Literal["fail", "warn", "info"]
T = TypeVar("T")


class DnsOutcome(enum.StrEnum):
    NOERROR = "NOERROR"
    NXDOMAIN = "NXDOMAIN"
    NOANSWER = "NOANSWER"
    TIMEOUT = "TIMEOUT"
    SERVFAIL = "SERVFAIL"
    REFUSED = "REFUSED"
    ERROR = "ERROR"  # anything else: FORMERR, NOTIMP, a broken reply, a socket error


@dataclass(frozen=True)
class DnsRecord:
    """One record as a person reads it; TXT strings are joined and decoded."""

    name: str
    rdtype: str
    ttl: int
    value: str

    def __str__(self) -> str:
        value = f'"{self.value}"' if self.rdtype == "TXT" else self.value
        return f"{self.name} {self.ttl} IN {self.rdtype} {value}"


@dataclass(frozen=True)
class DnsAnswer:
    """The result of one lookup, with aliases followed.

    ``cname_chain`` lists the names from the one asked to the canonical one, e.g.
    ``("mail.zimmerman.test", "metagross.zimmerman.test")``; it has one element
    when there was no alias. ``records`` are the final records of the asked type.
    ``rcode`` is the DNS rcode of the last reply (``None`` when none came).
    """

    name: str
    rdtype: str
    outcome: DnsOutcome
    rcode: str | None
    records: tuple[DnsRecord, ...]
    cname_chain: tuple[str, ...]
    aliases: tuple[DnsRecord, ...]
    nameserver: str
    port: int
    elapsed: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is DnsOutcome.NOERROR

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(r.value for r in self.records)

    @property
    def is_alias(self) -> bool:
        return len(self.cname_chain) > 1

    @property
    def canonical_name(self) -> str:
        return self.cname_chain[-1]

    def evidence(self) -> str:
        """The answer as ``dig`` would show it, for a finding's evidence."""
        lines = [str(r) for r in self.aliases + self.records]
        if not lines:
            lines = [
                f"{self.name} {self.rdtype}: {self.outcome.value}"
                + (f" ({self.error})" if self.error else "")
            ]
        return "\n".join(lines)


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True)


def _parse_name(name: str | dns.name.Name) -> dns.name.Name:
    if isinstance(name, dns.name.Name):
        return name
    try:
        if not name or not name.strip() or " " in name.strip():
            raise ValueError("empty or contains spaces")
        return dns.name.from_text(name.strip())
    except (ValueError, dns.exception.DNSException) as exc:
        raise UsageError(
            f"{name!r} is not a valid DNS name ({exc}).",
            advice="Give a name such as zimmerman.test or mail.zimmerman.test.",
        ) from exc


def _parse_type(rdtype: str) -> dns.rdatatype.RdataType:
    try:
        return dns.rdatatype.RdataType.make(rdtype.upper())
    except (ValueError, dns.exception.DNSException) as exc:
        raise UsageError(
            f"Unknown record type {rdtype!r}.",
            advice="Use A, AAAA, MX, CNAME, PTR, TXT, NS or SOA.",
        ) from exc


def _nameserver(nameserver: str | None) -> str:
    """An IP address to send queries to; the system's first resolver by default."""
    if nameserver is None:
        try:
            servers = dns.resolver.Resolver().nameservers
        except dns.exception.DNSException as exc:
            raise UsageError(
                "No DNS server is configured on this machine.",
                advice="Pass a nameserver explicitly (--server).",
            ) from exc
        if not servers:
            raise UsageError(
                "No DNS server is configured on this machine.",
                advice="Pass a nameserver explicitly (--server).",
            )
        return str(servers[0])
    try:
        return str(ipaddress.ip_address(nameserver))
    except ValueError:
        pass
    try:
        return str(socket.getaddrinfo(nameserver, 53, type=socket.SOCK_DGRAM)[0][4][0])
    except (socket.gaierror, UnicodeError, IndexError) as exc:
        raise UsageError(
            f"Nameserver {nameserver!r} does not resolve.",
            advice="Give the nameserver as an IP address.",
        ) from exc


def _record(
    rrset_name: dns.name.Name, rdtype: dns.rdatatype.RdataType, ttl: int, rdata: object
) -> DnsRecord:
    if rdtype == dns.rdatatype.TXT:
        strings = getattr(rdata, "strings", ())
        value = b"".join(strings).decode("utf-8", errors="replace")
    elif hasattr(rdata, "to_text"):
        value = rdata.to_text(origin=None, relativize=False)
        if value.endswith(".") and rdtype in (
            dns.rdatatype.CNAME,
            dns.rdatatype.PTR,
            dns.rdatatype.MX,
            dns.rdatatype.NS,
        ):
            value = value[:-1]
    else:
        value = str(rdata)
    return DnsRecord(_text(rrset_name), dns.rdatatype.to_text(rdtype), ttl, value)


def _query(
    qname: dns.name.Name,
    rdtype: dns.rdatatype.RdataType,
    server: str,
    port: int,
    timeout: float,
    tcp: bool,
) -> tuple[dns.message.Message | None, DnsOutcome | None, str | None]:
    """One query; a reply, or the outcome and error text when none came."""
    query = dns.message.make_query(qname, rdtype)
    try:
        if tcp:
            return dns.query.tcp(query, server, timeout=timeout, port=port), None, None
        response, _ = dns.query.udp_with_fallback(query, server, timeout=timeout, port=port)
        return response, None, None
    except dns.exception.Timeout:
        return None, DnsOutcome.TIMEOUT, f"no reply from {server}:{port} within {timeout:g} s"
    except dns.exception.DNSException as exc:
        return None, DnsOutcome.ERROR, f"bad reply: {exc}"
    except OSError as exc:
        return None, DnsOutcome.ERROR, f"cannot reach {server}:{port}: {exc.strerror or exc}"


_RCODE_OUTCOMES = {
    dns.rcode.NXDOMAIN: DnsOutcome.NXDOMAIN,
    dns.rcode.SERVFAIL: DnsOutcome.SERVFAIL,
    dns.rcode.REFUSED: DnsOutcome.REFUSED,
}


def lookup(
    name: str | dns.name.Name,
    rdtype: str = "A",
    *,
    nameserver: str | None = None,
    port: int = 53,
    timeout: float = 2.0,
    tcp: bool = False,
) -> DnsAnswer:
    """Ask ``nameserver`` for ``name``/``rdtype``, following CNAMEs; never raises on the
    network's account. A malformed name, type or server is a :class:`UsageError`."""
    qname = _parse_name(name)
    qtype = _parse_type(rdtype)
    timeout = check_timeout(timeout)
    port = check_port(port, "nameserver port")
    server = _nameserver(nameserver)
    started = time.monotonic()
    deadline = started + timeout
    chain = [qname]
    aliases: list[DnsRecord] = []
    records: list[DnsRecord] = []
    outcome: DnsOutcome = DnsOutcome.NOANSWER
    rcode: str | None = None
    error: str | None = None
    for _ in range(MAX_CNAME_HOPS):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            outcome, error = DnsOutcome.TIMEOUT, f"no answer within {timeout:g} s"
            break
        response, failed, error = _query(chain[-1], qtype, server, port, remaining, tcp)
        if response is None:
            outcome = failed or DnsOutcome.ERROR
            if outcome is DnsOutcome.TIMEOUT:
                error = f"no reply from {server}:{port} within {timeout:g} s"
            break
        code = response.rcode()
        rcode = dns.rcode.to_text(code)
        asked = len(chain)
        looped = False
        # Walk the aliases in the answer section (an in-zone chain comes in one reply).
        while qtype != dns.rdatatype.CNAME:
            alias = response.get_rrset(
                response.answer, chain[-1], dns.rdataclass.IN, dns.rdatatype.CNAME
            )
            if alias is None:
                break
            rdata = next(iter(alias))
            aliases.append(_record(chain[-1], dns.rdatatype.CNAME, alias.ttl, rdata))
            target = rdata.target
            if target in chain:
                looped = True
                break
            chain.append(target)
        if looped:
            outcome, error = DnsOutcome.ERROR, "CNAME loop"
            break
        final = response.get_rrset(response.answer, chain[-1], dns.rdataclass.IN, qtype)
        if final is not None:
            records = [_record(chain[-1], qtype, final.ttl, rd) for rd in final]
            outcome = DnsOutcome.NOERROR
            break
        if code != dns.rcode.NOERROR:
            outcome = _RCODE_OUTCOMES.get(code, DnsOutcome.ERROR)
            if outcome is DnsOutcome.ERROR:
                error = f"rcode {rcode}"
            break
        if len(chain) > asked:
            continue  # the alias points outside this reply (another zone): ask for the target
        outcome = DnsOutcome.NOANSWER
        break
    else:
        outcome, error = DnsOutcome.ERROR, f"more than {MAX_CNAME_HOPS} CNAME hops"
    return DnsAnswer(
        name=_text(qname),
        rdtype=dns.rdatatype.to_text(qtype),
        outcome=outcome,
        rcode=rcode,
        records=tuple(records),
        cname_chain=tuple(_text(n) for n in chain),
        aliases=tuple(aliases),
        nameserver=server,
        port=port,
        elapsed=time.monotonic() - started,
        error=error,
    )


# --------------------------------------------------------------------------- reverse DNS, SPF


@dataclass(frozen=True)
class ReverseDns:
    """PTR for an address, and whether each PTR name resolves back to it (FCrDNS)."""

    address: str
    ptr: DnsAnswer
    forward: tuple[DnsAnswer, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return self.ptr.values

    @property
    def confirmed_names(self) -> tuple[str, ...]:
        """PTR names whose A/AAAA records include the address (forward-confirmed)."""
        return tuple(f.name for f in self.forward if self.address in f.values)

    @property
    def confirmed(self) -> bool:
        return bool(self.confirmed_names)


def ptr_names_match(reverse: ReverseDns, name: str) -> bool:
    """Does a PTR name of ``reverse`` equal ``name`` (case and trailing dot aside)?

    Receivers compare whole names: a bare host name ("metagross", as the blog's banner
    gave) matches no PTR."""
    wanted = name.lower().rstrip(".")
    return wanted in {n.lower().rstrip(".") for n in reverse.names}


def reverse_lookup(
    address: str, *, nameserver: str | None = None, port: int = 53, timeout: float = 2.0
) -> ReverseDns:
    """PTR lookup plus the forward confirmation receivers apply to connecting MTAs.

    ``timeout`` bounds the whole check. At most :data:`MAX_PTR_NAMES` PTR names are
    checked back, all at once, so a PTR with 40 names costs one timeout, not 40.
    """
    try:
        ip = ipaddress.ip_address(address)
        reverse_name = dns.reversename.from_address(str(ip))
    except (ValueError, dns.exception.DNSException) as exc:
        raise UsageError(
            f"{address!r} is not an IP address.",
            advice="Reverse DNS needs an address such as 198.51.100.25.",
        ) from exc
    timeout = check_timeout(timeout)
    deadline = time.monotonic() + timeout
    ptr = lookup(reverse_name, "PTR", nameserver=nameserver, port=port, timeout=timeout)
    family = "AAAA" if ip.version == 6 else "A"
    names = [name for name in ptr.values if name][:MAX_PTR_NAMES]
    calls = [
        functools.partial(_lookup_until, name, family, nameserver, port, deadline) for name in names
    ]
    if not calls:
        return ReverseDns(str(ip), ptr, ())
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        forward = tuple(_in_parallel(pool, calls))
    return ReverseDns(str(ip), ptr, forward)


def _lookup_until(
    name: str, rdtype: str, nameserver: str | None, port: int, deadline: float
) -> DnsAnswer:
    """A lookup with whatever time is left before ``deadline`` (a timeout when none)."""
    remaining = deadline - time.monotonic()
    if remaining < 0.01:
        return _not_looked_up(name, rdtype, nameserver or "?", port, "no time left")
    return lookup(name, rdtype, nameserver=nameserver, port=port, timeout=max(remaining, 0.1))


def spf_records(txt: DnsAnswer) -> tuple[str, ...]:
    """The SPF policies among TXT records (RFC 7208 §4.5: ``v=spf1`` then a space or end)."""
    return tuple(v for v in txt.values if v.lower() == "v=spf1" or v.lower().startswith("v=spf1 "))


# --------------------------------------------------------------------------- the mail report


class DnsRule(enum.StrEnum):
    """The rules :func:`diagnose_mail_dns` checks, each tied to what it breaks."""

    DNS_FAILURE = "dns-failure"
    DOMAIN_MISSING = "domain-missing"
    NO_MX = "no-mx"
    NULL_MX = "null-mx"
    MX_IS_ADDRESS = "mx-is-address"
    MX_IS_CNAME = "mx-is-cname"
    MX_UNRESOLVABLE = "mx-unresolvable"
    MX_UNEXPECTED = "mx-unexpected"
    APEX_DIFFERS = "apex-differs"
    PTR_MISSING = "ptr-missing"
    PTR_MISMATCH = "ptr-mismatch"
    FCRDNS_FAILED = "fcrdns-failed"
    NO_SPF = "no-spf"
    MULTIPLE_SPF = "multiple-spf"


@dataclass(frozen=True)
class DnsIssue:
    rule: DnsRule
    severity: Severity
    subject: str  # the name or address concerned
    title: str
    evidence: str
    reference: str  # the RFC section the rule comes from


@dataclass(frozen=True)
class MxHost:
    """One MX target and what its name resolves to."""

    preference: int
    exchange: str
    ipv4: DnsAnswer
    ipv6: DnsAnswer

    @property
    def addresses(self) -> tuple[str, ...]:
        return self.ipv4.values + self.ipv6.values

    @property
    def is_alias(self) -> bool:
        return self.ipv4.is_alias or self.ipv6.is_alias

    @property
    def alias_evidence(self) -> str:
        answer = self.ipv4 if self.ipv4.is_alias else self.ipv6
        return answer.evidence()


@dataclass(frozen=True)
class MailDnsReport:
    """Everything :func:`mail_dns_report` looked up, and the issues it found."""

    domain: str
    nameserver: str
    port: int
    mx: DnsAnswer
    mx_hosts: tuple[MxHost, ...]
    apex: DnsAnswer
    txt: DnsAnswer
    spf: tuple[str, ...]
    reverse: tuple[ReverseDns, ...]
    expect_host: str | None
    banner_name: str | None
    issues: tuple[DnsIssue, ...]
    elapsed: float
    #: What the report left out to stay within its time and size limits.
    notes: tuple[str, ...] = ()

    @property
    def mail_addresses(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a for h in self.mx_hosts for a in h.addresses))

    @property
    def ok(self) -> bool:
        return not any(i.severity == "fail" for i in self.issues)

    def issue(self, rule: DnsRule) -> DnsIssue | None:
        return next((i for i in self.issues if i.rule is rule), None)


def _parse_mx(answer: DnsAnswer) -> list[tuple[int, str]]:
    hosts = []
    for value in answer.values:
        parts = value.split()
        try:
            preference = int(parts[0])
        except (IndexError, ValueError):
            continue
        exchange = parts[1].rstrip(".") if len(parts) > 1 else ""
        hosts.append((preference, exchange))
    return sorted(hosts)


def is_address(text: str) -> bool:
    """True for an IPv4/IPv6 literal (an MX target must be a name, never an address)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


_FAILED = (DnsOutcome.TIMEOUT, DnsOutcome.SERVFAIL, DnsOutcome.REFUSED, DnsOutcome.ERROR)


def mx_host_issues(domain: str, mx: DnsAnswer, host: MxHost) -> list[DnsIssue]:
    """What is wrong with one MX target: a null MX, an address, an alias, no address.

    The one judgement of an MX target, used by :func:`diagnose_mail_dns` (the doctor)
    and :func:`labkit.verdicts.judge_mx_target` (the live task).
    """
    issues: list[DnsIssue] = []
    add = issues.append
    if host.exchange in ("", "."):
        add(
            DnsIssue(
                DnsRule.NULL_MX,
                "info",
                domain,
                f"{domain} publishes a null MX: it accepts no mail",
                mx.evidence(),
                "RFC 7505",
            )
        )
        return issues
    if is_address(host.exchange):
        add(
            DnsIssue(
                DnsRule.MX_IS_ADDRESS,
                "fail",
                host.exchange,
                f"The MX of {domain} is an IP address, not a host name",
                mx.evidence(),
                "RFC 1035 §3.3.9, RFC 5321 §5.1",
            )
        )
        return issues
    if host.is_alias:
        target = (host.ipv4 if host.ipv4.is_alias else host.ipv6).canonical_name
        add(
            DnsIssue(
                DnsRule.MX_IS_CNAME,
                "fail",
                host.exchange,
                f"MX target {host.exchange} is a CNAME (alias of {target}); "
                "an MX must point at a name with A/AAAA records",
                f"{domain} IN MX {host.preference} {host.exchange}\n{host.alias_evidence}",
                "RFC 2181 §10.3, RFC 5321 §5.1",
            )
        )
    if not host.addresses:
        outcomes = f"A: {host.ipv4.outcome.value}, AAAA: {host.ipv6.outcome.value}"
        add(
            DnsIssue(
                DnsRule.MX_UNRESOLVABLE,
                "fail",
                host.exchange,
                f"MX target {host.exchange} has no address ({outcomes})",
                host.ipv4.evidence(),
                "RFC 5321 §5.1",
            )
        )
    return issues


def diagnose_mail_dns(
    domain: str,
    mx: DnsAnswer,
    mx_hosts: Sequence[MxHost],
    apex: DnsAnswer,
    txt: DnsAnswer,
    reverse: Sequence[ReverseDns],
    *,
    expect_host: str | None = None,
    banner_name: str | None = None,
) -> tuple[DnsIssue, ...]:
    """The mail DNS rules, as a pure function of answers already gathered."""
    issues: list[DnsIssue] = []
    add = issues.append
    if mx.outcome in _FAILED:
        add(
            DnsIssue(
                DnsRule.DNS_FAILURE,
                "fail",
                domain,
                f"The MX lookup for {domain} failed: {mx.outcome.value}",
                mx.evidence(),
                "RFC 1035 §4.1.1",
            )
        )
    elif mx.outcome is DnsOutcome.NXDOMAIN:
        add(
            DnsIssue(
                DnsRule.DOMAIN_MISSING,
                "fail",
                domain,
                f"{domain} does not exist (NXDOMAIN) on {mx.nameserver}",
                mx.evidence(),
                "RFC 1035 §4.1.1",
            )
        )
    elif mx.outcome is DnsOutcome.NOANSWER:
        fallback = ", ".join(apex.values) or "nothing"
        add(
            DnsIssue(
                DnsRule.NO_MX,
                "warn",
                domain,
                f"{domain} has no MX record; senders fall back to its A record ({fallback})",
                mx.evidence(),
                "RFC 5321 §5.1 (implicit MX)",
            )
        )
    for host in mx_hosts:
        issues.extend(mx_host_issues(domain, mx, host))
    exchanges = {h.exchange.lower() for h in mx_hosts}
    if expect_host and mx.ok and expect_host.lower().rstrip(".") not in exchanges:
        add(
            DnsIssue(
                DnsRule.MX_UNEXPECTED,
                "warn",
                domain,
                f"{expect_host} is not among the MX targets of {domain}",
                mx.evidence(),
                "RFC 5321 §5.1",
            )
        )
    mail_addresses = {a for h in mx_hosts for a in h.addresses}
    if apex.ok and mail_addresses and not mail_addresses & set(apex.values):
        add(
            DnsIssue(
                DnsRule.APEX_DIFFERS,
                "info",
                domain,
                f"{domain}'s own A record ({', '.join(apex.values)}) is not the mail server "
                f"({', '.join(sorted(mail_addresses))}). That is fine: mail for @{domain} follows "
                "the MX; the apex A only matters when there is no MX.",
                apex.evidence(),
                "RFC 5321 §5.1",
            )
        )
    for rev in reverse:
        if not rev.ptr.ok:
            add(
                DnsIssue(
                    DnsRule.PTR_MISSING,
                    "fail",
                    rev.address,
                    f"{rev.address} has no PTR record ({rev.ptr.outcome.value}); many "
                    "receivers distrust or reject mail from it",
                    rev.ptr.evidence(),
                    "RFC 1912 §2.1",
                )
            )
            continue
        # A bare banner name is not a FQDN at all: the doctor's greeting check says so.
        if banner_name and "." in banner_name.strip(".") and not ptr_names_match(rev, banner_name):
            add(
                DnsIssue(
                    DnsRule.PTR_MISMATCH,
                    "warn",
                    rev.address,
                    f"PTR of {rev.address} is {', '.join(rev.names)}, but the server "
                    f"calls itself {banner_name} (banner/HELO)",
                    rev.ptr.evidence(),
                    "RFC 5321 §4.1.4",
                )
            )
        if not rev.confirmed:
            add(
                DnsIssue(
                    DnsRule.FCRDNS_FAILED,
                    "warn",
                    rev.address,
                    f"The PTR name(s) of {rev.address} do not resolve back to it "
                    "(no forward-confirmed reverse DNS)",
                    "\n".join([rev.ptr.evidence()] + [f.evidence() for f in rev.forward]),
                    "RFC 8601 §2.7.3",
                )
            )
    spf = spf_records(txt)
    if txt.outcome in _FAILED:
        add(
            DnsIssue(
                DnsRule.DNS_FAILURE,
                "warn",
                domain,
                f"The TXT lookup for {domain} failed ({txt.outcome.value}); SPF unknown",
                txt.evidence(),
                "RFC 7208 §4.4",
            )
        )
    elif not spf and mx.outcome is not DnsOutcome.NXDOMAIN:
        add(
            DnsIssue(
                DnsRule.NO_SPF,
                "warn",
                domain,
                f"{domain} publishes no SPF record; receivers cannot tell which hosts "
                "may send its mail",
                txt.evidence(),
                "RFC 7208 §3",
            )
        )
    elif len(spf) > 1:
        add(
            DnsIssue(
                DnsRule.MULTIPLE_SPF,
                "fail",
                domain,
                f"{domain} has {len(spf)} SPF records; that is a permanent error",
                "\n".join(spf),
                "RFC 7208 §4.5",
            )
        )
    return tuple(issues)


def _in_parallel(pool: ThreadPoolExecutor, calls: Sequence[Callable[[], T]]) -> list[T]:
    return [f.result() for f in [pool.submit(call) for call in calls]]


def mail_dns_report(
    domain: str,
    nameserver: str | None = None,
    *,
    port: int = 53,
    expect_host: str | None = None,
    banner_name: str | None = None,
    timeout: float = 2.0,
) -> MailDnsReport:
    """Look up what mail delivery to ``domain`` depends on, concurrently, then judge it.

    ``expect_host`` is the host you meant to receive mail (e.g. mail.zimmerman.test);
    ``banner_name`` the name the server gives in its banner/EHLO, to compare with PTR.
    ``timeout`` bounds the whole report: every lookup gets only the time left, and
    at most :data:`MAX_MX_TARGETS` MX targets and :data:`MAX_PTR_NAMES` PTR names are
    followed (``notes`` says when something was left out).
    """
    domain = _text(_parse_name(domain))
    timeout = check_timeout(timeout)
    port = check_port(port, "nameserver port")
    server = _nameserver(nameserver)
    started = time.monotonic()
    deadline = started + timeout
    notes: list[str] = []

    def ask(name: str, rdtype: str) -> Callable[[], DnsAnswer]:
        return functools.partial(_lookup_until, name, rdtype, server, port, deadline)

    with ThreadPoolExecutor(max_workers=2 * MAX_MX_TARGETS) as pool:
        mx, apex, txt = _in_parallel(
            pool, [ask(domain, "MX"), ask(domain, "A"), ask(domain, "TXT")]
        )
        exchanges = _parse_mx(mx)
        named = [(p, e) for p, e in exchanges if e and not is_address(e)]
        if len(named) > MAX_MX_TARGETS:
            notes.append(
                f"{domain} has {len(named)} MX targets; the {MAX_MX_TARGETS} most preferred "
                "were looked up."
            )
        targets = named[:MAX_MX_TARGETS]
        answers = _in_parallel(pool, [ask(e, t) for _, e in targets for t in ("A", "AAAA")])
        hosts = [
            MxHost(p, e, answers[2 * i], answers[2 * i + 1]) for i, (p, e) in enumerate(targets)
        ]
        hosts += [
            MxHost(p, e, _empty(e, "A", server, port), _empty(e, "AAAA", server, port))
            for p, e in exchanges
            if not e or is_address(e)
        ][:MAX_MX_TARGETS]
        hosts.sort(key=lambda h: (h.preference, h.exchange))
        primary = [h for h in hosts if h.preference == hosts[0].preference] if hosts else []
        addresses = list(dict.fromkeys(a for h in primary for a in h.ipv4.values))[:4]
        remaining = deadline - time.monotonic()
        reverse = (
            _in_parallel(
                pool,
                [
                    functools.partial(
                        reverse_lookup,
                        a,
                        nameserver=server,
                        port=port,
                        timeout=max(remaining, MIN_TIMEOUT),
                    )
                    for a in addresses
                ],
            )
            if remaining >= 0.1
            else []
        )
    if addresses and not reverse:
        notes.append("No time was left for reverse DNS.")
    for rev in reverse:
        if len(rev.ptr.values) > MAX_PTR_NAMES:
            notes.append(
                f"{rev.address} has {len(rev.ptr.values)} PTR names; the first "
                f"{MAX_PTR_NAMES} were checked back."
            )
    issues = diagnose_mail_dns(
        domain, mx, hosts, apex, txt, reverse, expect_host=expect_host, banner_name=banner_name
    )
    return MailDnsReport(
        domain=domain,
        nameserver=server,
        port=port,
        mx=mx,
        mx_hosts=tuple(hosts),
        apex=apex,
        txt=txt,
        spf=spf_records(txt),
        reverse=tuple(reverse),
        expect_host=expect_host,
        banner_name=banner_name,
        issues=issues,
        elapsed=time.monotonic() - started,
        notes=tuple(notes),
    )


def _empty(name: str, rdtype: str, server: str, port: int) -> DnsAnswer:
    """A placeholder for a lookup that was not made (the MX target is not a name)."""
    return DnsAnswer(
        name or ".",
        rdtype,
        DnsOutcome.NOANSWER,
        None,
        (),
        (name or ".",),
        (),
        server,
        port,
        0.0,
        "not looked up",
    )


def _not_looked_up(name: str, rdtype: str, server: str, port: int, why: str) -> DnsAnswer:
    """A lookup the report's deadline left no time for: a timeout, and said so."""
    return DnsAnswer(
        name, rdtype, DnsOutcome.TIMEOUT, None, (), (name,), (), server, port, 0.0, why
    )
