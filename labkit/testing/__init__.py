"""Real servers on 127.0.0.1 and helpers for testing labkit (and code built on it).

* :mod:`.smtpd`    - :class:`FakeMailServer`, aiosmtpd configured like the lab's Postfix
* :mod:`.servers`  - misbehaving servers (masked middlebox, silent, garbage, byte-by-byte,
  closing mid-reply), TLS endpoints, a closed port and a black-hole port
* :mod:`.dns`      - :class:`TinyDnsServer` with the blog's zone and the fixed one
* :mod:`.certs`    - :class:`CertFactory`: CA, leaf, self-signed, expired, foreign CA
* :mod:`.builders` - probe results built by hand, for testing pure judging code
* :mod:`.commands` - stand-in executables for code that runs server tools
* :mod:`.fixtures` - pytest fixtures over all of the above

Everything binds 127.0.0.1 only. Importing this package does not start anything.
"""
