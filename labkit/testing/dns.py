"""A tiny authoritative DNS server on 127.0.0.1 (UDP and TCP), in a thread.

Modelled on dnspython's own ``tests/nanonameserver.py``: real packets, real
dnspython message handling, and switches to misbehave. It serves zones given as
zone-file text, answers NXDOMAIN / NOERROR-with-no-data correctly (with the SOA in
the authority section), includes in-zone CNAME chains in the answer, REFUSEs names
outside its zones, and can be told to SERVFAIL, REFUSE or silently drop queries
for one name or for everything (:meth:`TinyDnsServer.misbehave`).

:data:`BLOG_ZONE` reproduces the blog's DNS: the apex ``A`` points at a web host,
``MX 10 mail`` and ``mail`` is a CNAME for ``metagross``; no SPF; the PTR names
``metagross``. :data:`FIXED_ZONE` is the corrected version.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import selectors
import socket
import struct
import threading
from collections.abc import Iterable

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

__all__ = [
    "BLOG_REVERSE_ZONE",
    "BLOG_ZONE",
    "Behaviour",
    "FIXED_REVERSE_ZONE",
    "FIXED_ZONE",
    "TinyDnsServer",
    "blog_dns_server",
    "fixed_dns_server",
    "many_records_dns_server",
]

#: Addresses from the documentation ranges (RFC 5737): nothing real is ever named.
WEB_HOST = "192.0.2.80"
MAIL_HOST = "198.51.100.25"

_SOA = """$TTL 300
@   IN SOA ns.zimmerman.test. hostmaster.zimmerman.test. 2014070701 3600 600 86400 300
@   IN NS  ns.zimmerman.test.
"""

BLOG_ZONE = (
    _SOA
    + f"""ns        IN A     198.51.100.53
@         IN A     {WEB_HOST}
@         IN MX    10 mail
mail      IN CNAME metagross
metagross IN A     {MAIL_HOST}
www       IN CNAME zimmerman.test.
"""
)

FIXED_ZONE = (
    _SOA
    + f"""ns        IN A     198.51.100.53
@         IN A     {WEB_HOST}
@         IN MX    10 mail
mail      IN A     {MAIL_HOST}
metagross IN A     {MAIL_HOST}
@         IN TXT   "v=spf1 mx -all"
"""
)

_REVERSE_SOA = """$TTL 300
@   IN SOA ns.zimmerman.test. hostmaster.zimmerman.test. 1 3600 600 86400 300
@   IN NS  ns.zimmerman.test.
"""
BLOG_REVERSE_ZONE = _REVERSE_SOA + "25 IN PTR metagross.zimmerman.test.\n"
FIXED_REVERSE_ZONE = _REVERSE_SOA + "25 IN PTR mail.zimmerman.test.\n"
REVERSE_ORIGIN = "100.51.198.in-addr.arpa."


class Behaviour(enum.StrEnum):
    ANSWER = "answer"
    SERVFAIL = "servfail"
    REFUSED = "refused"
    DROP = "drop"  # no reply at all: the client times out
    GARBAGE = "garbage"  # a reply that is not a DNS message


class TinyDnsServer:
    """Serve ``zones`` (a mapping origin -> zone text) on 127.0.0.1, UDP and TCP, one port."""

    def __init__(self, zones: dict[str, str]) -> None:
        self.zones = [
            dns.zone.from_text(text, origin=origin, relativize=False)
            for origin, text in zones.items()
        ]
        self.host = "127.0.0.1"
        self.port = 0
        self.default = Behaviour.ANSWER
        self.overrides: dict[dns.name.Name, Behaviour] = {}
        self.queries: list[tuple[str, str, str]] = []  # (name, type, "udp"/"tcp")
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None

    def misbehave(self, behaviour: Behaviour | str, name: str | None = None) -> None:
        """Make queries for ``name`` (or every query, when None) SERVFAIL, REFUSE, get
        dropped or get garbage back."""
        behaviour = Behaviour(behaviour)
        if name is None:
            self.default = behaviour
        else:
            self.overrides[dns.name.from_text(name)] = behaviour

    # -- answering ------------------------------------------------------------------------

    def _zone_for(self, qname: dns.name.Name) -> dns.zone.Zone | None:
        candidates = [
            z for z in self.zones if z.origin is not None and qname.is_subdomain(z.origin)
        ]
        return max(candidates, key=lambda z: len(z.origin or dns.name.root), default=None)

    def respond(self, query: dns.message.Message) -> dns.message.Message | None:
        """The reply to ``query``, or None to drop it."""
        response = dns.message.make_response(query)
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        qname, qtype = question.name, question.rdtype
        behaviour = self._behaviour(query)
        if behaviour is Behaviour.DROP:
            return None
        if behaviour is Behaviour.SERVFAIL:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        zone = self._zone_for(qname)
        if behaviour is Behaviour.REFUSED or zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        response.flags |= dns.flags.AA
        current = qname
        for _ in range(8):
            node = zone.get_node(current)
            if node is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
                self._add_soa(response, zone)
                break
            cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is not None and qtype != dns.rdatatype.CNAME:
                rrset = dns.rrset.RRset(current, dns.rdataclass.IN, dns.rdatatype.CNAME)
                rrset.update(cname)
                response.answer.append(rrset)
                current = next(iter(cname)).target
                if not current.is_subdomain(zone.origin or dns.name.root):
                    break  # out of zone: the client must ask elsewhere
                continue
            rdataset = node.get_rdataset(dns.rdataclass.IN, qtype)
            if rdataset is None:
                self._add_soa(response, zone)
            else:
                rrset = dns.rrset.RRset(current, dns.rdataclass.IN, qtype)
                rrset.update(rdataset)
                response.answer.append(rrset)
            break
        return response

    @staticmethod
    def _add_soa(response: dns.message.Message, zone: dns.zone.Zone) -> None:
        assert zone.origin is not None
        soa = zone.get_rdataset(zone.origin, dns.rdatatype.SOA)
        if soa is not None:
            rrset = dns.rrset.RRset(zone.origin, dns.rdataclass.IN, dns.rdatatype.SOA)
            rrset.update(soa)
            response.authority.append(rrset)

    def _handle(self, wire: bytes, transport: str) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if query.question:
            q = query.question[0]
            self.queries.append((q.name.to_text(), dns.rdatatype.to_text(q.rdtype), transport))
        if self._behaviour(query) is Behaviour.GARBAGE:
            return wire[:2] + b"\x81\x80 not a DNS message"
        response = self.respond(query)
        return response.to_wire() if response is not None else None

    def _behaviour(self, query: dns.message.Message) -> Behaviour:
        name = query.question[0].name if query.question else None
        return self.overrides.get(name, self.default) if name is not None else self.default

    # -- sockets --------------------------------------------------------------------------

    def _bind(self) -> None:
        for _ in range(20):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind((self.host, 0))
            port = udp.getsockname()[1]
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind((self.host, port))
            except OSError as exc:
                udp.close()
                tcp.close()
                if exc.errno != errno.EADDRINUSE:
                    raise
                continue
            tcp.listen(8)
            self._udp, self._tcp, self.port = udp, tcp, port
            return
        raise OSError(errno.EADDRINUSE, "no port free for both UDP and TCP")

    def _serve_tcp(self, conn: socket.socket) -> None:
        conn.settimeout(2)
        with conn:
            try:
                header = conn.recv(2)
                if len(header) < 2:
                    return
                (length,) = struct.unpack("!H", header)
                data = b""
                while len(data) < length:
                    chunk = conn.recv(length - len(data))
                    if not chunk:
                        return
                    data += chunk
                reply = self._handle(data, "tcp")
                if reply is not None:
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
                else:
                    self._stopping.wait(2)  # hold the connection open, say nothing
            except OSError:
                return

    def _loop(self) -> None:
        assert self._udp is not None and self._tcp is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._udp, selectors.EVENT_READ)
            selector.register(self._tcp, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select(timeout=0.05):
                    if key.fileobj is self._udp:
                        try:
                            data, peer = self._udp.recvfrom(65535)
                        except OSError:
                            continue
                        reply = self._handle(data, "udp")
                        if reply is not None:
                            with contextlib.suppress(OSError):
                                self._udp.sendto(reply, peer)
                    else:
                        try:
                            conn, _ = self._tcp.accept()
                        except OSError:
                            continue
                        threading.Thread(target=self._serve_tcp, args=(conn,), daemon=True).start()

    def start(self) -> TinyDnsServer:
        self._bind()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="labkit-dns")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for sock in (self._udp, self._tcp):
            if sock is not None:
                sock.close()

    def __enter__(self) -> TinyDnsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def many_records_dns_server(
    mx_targets: int = 64, ptr_names: int = 40, *, answer_targets: bool = False
) -> TinyDnsServer:
    """A hostile zone: ``zimmerman.test`` has ``mx_targets`` MX records, the mail
    host's address has ``ptr_names`` PTR names, and (unless ``answer_targets``) every
    lookup of an MX target or a PTR name is dropped, so each one costs a client its
    whole timeout. Work that grows with what a server returns shows up here."""
    mx = "".join(f"@ IN MX {10 + i} mx{i}\n" for i in range(mx_targets))
    targets = "".join(f"mx{i} IN A {MAIL_HOST}\n" for i in range(mx_targets))
    names = "".join(f"25 IN PTR name{i}.zimmerman.test.\n" for i in range(ptr_names))
    names_a = "".join(f"name{i} IN A {MAIL_HOST}\n" for i in range(ptr_names))
    server = TinyDnsServer(
        {
            "zimmerman.test.": _SOA + mx + targets + names_a + '@ IN TXT "v=spf1 mx -all"\n',
            REVERSE_ORIGIN: _REVERSE_SOA + names,
        }
    )
    if not answer_targets:
        for i in range(mx_targets):
            server.misbehave(Behaviour.DROP, f"mx{i}.zimmerman.test.")
        for i in range(ptr_names):
            server.misbehave(Behaviour.DROP, f"name{i}.zimmerman.test.")
    return server


def blog_dns_server(extra: Iterable[tuple[str, str]] = ()) -> TinyDnsServer:
    """The blog's zone (MX -> CNAME, no SPF, PTR = metagross) plus its reverse zone."""
    return TinyDnsServer(
        {"zimmerman.test.": BLOG_ZONE, REVERSE_ORIGIN: BLOG_REVERSE_ZONE, **dict(extra)}
    )


def fixed_dns_server(extra: Iterable[tuple[str, str]] = ()) -> TinyDnsServer:
    """The corrected zone: MX -> A record, SPF published, PTR = mail.zimmerman.test."""
    return TinyDnsServer(
        {"zimmerman.test.": FIXED_ZONE, REVERSE_ORIGIN: FIXED_REVERSE_ZONE, **dict(extra)}
    )
