"""Unit tests run against real servers on 127.0.0.1 (labkit.testing), never the network.

The fixtures ship in the package (``labkit.testing.fixtures``) so that anyone testing
against labkit gets the same servers; they are imported here to register them.
"""

from labkit.testing.fixtures import (  # noqa: F401  (fixtures register by name)
    blackhole,
    blog_dns,
    certs,
    closed,
    fake_bin,
    fixed_dns,
    serve,
)
