"""DNS probes against a tiny real DNS server on 127.0.0.1 (UDP and TCP)."""

from __future__ import annotations

import time

import pytest

from labkit.errors import UsageError
from labkit.probes.dns import (
    DnsAnswer,
    DnsOutcome,
    DnsRecord,
    DnsRule,
    MxHost,
    ReverseDns,
    diagnose_mail_dns,
    lookup,
    mail_dns_report,
    reverse_lookup,
)
from labkit.testing.dns import MAIL_HOST, WEB_HOST, TinyDnsServer


def _ns(server: TinyDnsServer) -> dict:
    return {"nameserver": server.host, "port": server.port, "timeout": 1.0}


def test_mx_lookup(blog_dns):
    answer = lookup("zimmerman.test", "MX", **_ns(blog_dns))
    assert answer.outcome is DnsOutcome.NOERROR and answer.rcode == "NOERROR"
    assert answer.values == ("10 mail.zimmerman.test",)
    assert not answer.is_alias
    assert blog_dns.queries[-1] == ("zimmerman.test.", "MX", "udp")


def test_cname_chain_is_followed_and_kept(blog_dns):
    answer = lookup("mail.zimmerman.test", "A", **_ns(blog_dns))
    assert answer.ok and answer.values == (MAIL_HOST,)
    assert answer.cname_chain == ("mail.zimmerman.test", "metagross.zimmerman.test")
    assert answer.is_alias and answer.canonical_name == "metagross.zimmerman.test"
    assert [str(r) for r in answer.aliases] == [
        "mail.zimmerman.test 300 IN CNAME metagross.zimmerman.test"
    ]


def test_asking_for_the_cname_itself_does_not_follow_it(blog_dns):
    answer = lookup("mail.zimmerman.test", "CNAME", **_ns(blog_dns))
    assert answer.values == ("metagross.zimmerman.test",) and not answer.is_alias


def test_nxdomain_and_noanswer_are_distinct(blog_dns):
    missing = lookup("nope.zimmerman.test", "A", **_ns(blog_dns))
    empty = lookup("metagross.zimmerman.test", "MX", **_ns(blog_dns))
    assert missing.outcome is DnsOutcome.NXDOMAIN and missing.rcode == "NXDOMAIN"
    assert empty.outcome is DnsOutcome.NOANSWER and empty.rcode == "NOERROR"
    assert not missing.ok and not empty.ok


def test_refused_outside_its_zones(blog_dns):
    answer = lookup("example.net", "A", **_ns(blog_dns))
    assert answer.outcome is DnsOutcome.REFUSED and answer.rcode == "REFUSED"


def test_servfail(blog_dns):
    blog_dns.misbehave("servfail", "mail.zimmerman.test")
    assert lookup("mail.zimmerman.test", "A", **_ns(blog_dns)).outcome is DnsOutcome.SERVFAIL
    assert lookup("zimmerman.test", "MX", **_ns(blog_dns)).ok  # only that name


def test_dropped_packets_time_out_within_the_budget(blog_dns):
    blog_dns.misbehave("drop")
    started = time.monotonic()
    answer = lookup(
        "zimmerman.test", "MX", nameserver=blog_dns.host, port=blog_dns.port, timeout=0.3
    )
    assert answer.outcome is DnsOutcome.TIMEOUT and answer.rcode is None
    assert "0.3 s" in (answer.error or "")
    assert time.monotonic() - started < 1.0


def test_garbage_reply_is_an_error_not_an_exception(blog_dns):
    blog_dns.misbehave("garbage")
    answer = lookup("zimmerman.test", "MX", **_ns(blog_dns))
    assert answer.outcome is DnsOutcome.ERROR and answer.error


def test_silent_port_is_a_timeout(closed):
    host, port = closed  # nothing listens on this UDP port either
    answer = lookup("zimmerman.test", "MX", nameserver=host, port=port, timeout=0.3)
    assert answer.outcome in (DnsOutcome.TIMEOUT, DnsOutcome.ERROR)


def test_tcp_transport(blog_dns):
    answer = lookup("mail.zimmerman.test", "A", tcp=True, **_ns(blog_dns))
    assert answer.values == (MAIL_HOST,)
    assert blog_dns.queries[-1][2] == "tcp"


def test_txt_strings_are_joined(serve):
    zone = (
        "$TTL 60\n@ IN SOA ns hm 1 1 1 1 1\n@ IN NS ns\nns IN A 198.51.100.53\n"
        '@ IN TXT "v=spf1 " "mx -all"\n@ IN TXT "other"\n'
    )
    server = serve(TinyDnsServer({"split.test.": zone}))
    answer = lookup("split.test", "TXT", **_ns(server))
    assert sorted(answer.values) == ["other", "v=spf1 mx -all"]


def test_reverse_dns_and_forward_confirmation(blog_dns, fixed_dns):
    blog = reverse_lookup(MAIL_HOST, **_ns(blog_dns))
    assert blog.names == ("metagross.zimmerman.test",) and blog.confirmed
    fixed = reverse_lookup(MAIL_HOST, **_ns(fixed_dns))
    assert fixed.names == ("mail.zimmerman.test",) and fixed.confirmed
    none = reverse_lookup("198.51.100.99", **_ns(blog_dns))
    assert none.ptr.outcome is DnsOutcome.NXDOMAIN and not none.confirmed
    foreign = reverse_lookup(WEB_HOST, **_ns(blog_dns))  # not a zone this server holds
    assert foreign.ptr.outcome is DnsOutcome.REFUSED


def test_blog_zone_report_names_the_broken_rules(blog_dns):
    report = mail_dns_report(
        "zimmerman.test",
        blog_dns.host,
        port=blog_dns.port,
        expect_host="mail.zimmerman.test",
        banner_name="mail.zimmerman.test",
    )
    assert not report.ok
    rules = {i.rule: i for i in report.issues}
    assert set(rules) == {
        DnsRule.MX_IS_CNAME,
        DnsRule.APEX_DIFFERS,
        DnsRule.PTR_MISMATCH,
        DnsRule.NO_SPF,
    }
    cname = rules[DnsRule.MX_IS_CNAME]
    assert cname.severity == "fail" and cname.subject == "mail.zimmerman.test"
    assert "RFC 2181 §10.3" in cname.reference and "RFC 5321 §5.1" in cname.reference
    assert "IN CNAME metagross.zimmerman.test" in cname.evidence
    assert rules[DnsRule.APEX_DIFFERS].severity == "info"
    assert "metagross" in rules[DnsRule.PTR_MISMATCH].title
    assert report.mail_addresses == (MAIL_HOST,)
    assert report.elapsed < 1


def test_fixed_zone_report_is_clean(fixed_dns):
    report = mail_dns_report(
        "zimmerman.test",
        fixed_dns.host,
        port=fixed_dns.port,
        expect_host="mail.zimmerman.test",
        banner_name="mail.zimmerman.test",
    )
    assert report.ok
    assert [i.rule for i in report.issues] == [DnsRule.APEX_DIFFERS]
    assert report.spf == ("v=spf1 mx -all",)
    assert report.reverse[0].confirmed


def test_report_when_the_server_drops_everything(blog_dns):
    blog_dns.misbehave("drop")
    report = mail_dns_report("zimmerman.test", blog_dns.host, port=blog_dns.port, timeout=0.3)
    failure = report.issue(DnsRule.DNS_FAILURE)
    assert failure is not None and failure.severity == "fail" and "TIMEOUT" in failure.title
    assert report.elapsed < 1.5


# ---------------------------------------------------------------- pure diagnosis


def _answer(name, rdtype, outcome=DnsOutcome.NOERROR, values=(), chain=None):
    records = tuple(DnsRecord(name, rdtype, 300, v) for v in values)
    return DnsAnswer(
        name,
        rdtype,
        outcome,
        outcome.value if outcome in (DnsOutcome.NOERROR, DnsOutcome.NXDOMAIN) else None,
        records,
        chain or (name,),
        (),
        "127.0.0.1",
        53,
        0.0,
    )


def _host(exchange, *addresses, pref=10):
    outcome = DnsOutcome.NOERROR if addresses else DnsOutcome.NXDOMAIN
    return MxHost(
        pref,
        exchange,
        _answer(exchange, "A", outcome, addresses),
        _answer(exchange, "AAAA", DnsOutcome.NOANSWER),
    )


def _diagnose(mx, hosts=(), apex=None, txt=None, reverse=(), **kw):
    apex = apex or _answer("d.test", "A", values=("192.0.2.1",))
    txt = txt or _answer("d.test", "TXT", values=("v=spf1 mx -all",))
    return {i.rule: i for i in diagnose_mail_dns("d.test", mx, hosts, apex, txt, reverse, **kw)}


def test_diagnose_nxdomain_domain():
    issues = _diagnose(_answer("d.test", "MX", DnsOutcome.NXDOMAIN))
    assert issues[DnsRule.DOMAIN_MISSING].severity == "fail"


def test_diagnose_no_mx_mentions_implicit_mx():
    issues = _diagnose(_answer("d.test", "MX", DnsOutcome.NOANSWER))
    assert "implicit MX" in issues[DnsRule.NO_MX].reference
    assert "192.0.2.1" in issues[DnsRule.NO_MX].title


def test_diagnose_unresolvable_and_address_mx_and_unexpected_host():
    mx = _answer("d.test", "MX", values=("10 gone.d.test", "20 192.0.2.9"))
    issues = _diagnose(
        mx, [_host("gone.d.test"), _host("192.0.2.9", pref=20)], expect_host="mail.d.test"
    )
    assert issues[DnsRule.MX_UNRESOLVABLE].subject == "gone.d.test"
    assert issues[DnsRule.MX_IS_ADDRESS].severity == "fail"
    assert issues[DnsRule.MX_UNEXPECTED].severity == "warn"


def test_diagnose_multiple_spf_and_failed_fcrdns():
    mx = _answer("d.test", "MX", values=("10 mail.d.test",))
    txt = _answer("d.test", "TXT", values=("v=spf1 mx -all", "v=spf1 a -all"))
    rev = ReverseDns(
        "192.0.2.1",
        _answer("1.2.0.192.in-addr.arpa", "PTR", values=("elsewhere.test",)),
        (_answer("elsewhere.test", "A", values=("192.0.2.200",)),),
    )
    issues = _diagnose(
        mx, [_host("mail.d.test", "192.0.2.1")], txt=txt, reverse=[rev], banner_name="mail.d.test"
    )
    assert issues[DnsRule.MULTIPLE_SPF].severity == "fail"
    assert issues[DnsRule.FCRDNS_FAILED].subject == "192.0.2.1"
    assert issues[DnsRule.PTR_MISMATCH].severity == "warn"
    assert DnsRule.APEX_DIFFERS not in issues  # apex and mail host share the address


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: lookup("bad name", "A", nameserver="127.0.0.1"), "not a valid DNS name"),
        (lambda: lookup("a..b", "A", nameserver="127.0.0.1"), "not a valid DNS name"),
        (lambda: lookup("zimmerman.test", "BOGUS", nameserver="127.0.0.1"), "Unknown record"),
        (lambda: reverse_lookup("not-an-ip", nameserver="127.0.0.1"), "not an IP address"),
        (lambda: lookup("zimmerman.test", nameserver="no-such-ns.invalid"), "does not resolve"),
    ],
)
def test_usage_errors(call, fragment):
    with pytest.raises(UsageError) as info:
        call()
    assert fragment in info.value.message and info.value.advice
