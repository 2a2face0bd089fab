"""web-download URI filtering as Glance's validate_import_uri, and the add-location body checks."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from onestack.core.api.faults import BadRequest
from onestack.core.config import ImageConfig
from onestack.image.service.locations import parse_add
from onestack.image.service.webdownload import UriFilter, literal_host, uri_allowed


def rules(**overrides: str) -> UriFilter:
    conf = ImageConfig()
    for key, value in overrides.items():
        setattr(conf, f"import_filtering_{key}", value)
    return UriFilter.of(conf)


@pytest.mark.parametrize("uri, allowed", [
    ("http://127.0.0.1/x.qcow2", True),
    ("https://127.0.0.1:443/x", True),
    ("http://127.0.0.1:80/x", True),
    ("http://127.0.0.1:8080/x", False),  # only 80 and 443 by default
    ("ftp://127.0.0.1/x", False),
    ("file:///etc/passwd", False),
    ("http://2130706433/x", False),  # encoded addresses are refused, not resolved
    ("http://127.1/x", False),
    ("http://[::1]/x", True),
    ("http:///x", False),
    ("", False),
    (None, False),
    ("http://127.0.0.1:99999/x", False),  # a port out of range
])
def test_defaults(uri: Any, allowed: bool) -> None:
    assert uri_allowed(uri, rules()) is allowed


def test_allowed_lists_win_over_disallowed_ones() -> None:
    both = rules(allowed_hosts="127.0.0.1", disallowed_hosts="127.0.0.1")
    assert uri_allowed("http://127.0.0.1/x", both)
    assert not uri_allowed("http://10.0.0.1/x", both)
    only_deny = rules(allowed_ports="", disallowed_ports="8080")
    assert uri_allowed("http://127.0.0.1:9999/x", only_deny)
    assert not uri_allowed("http://127.0.0.1:8080/x", only_deny)
    deny_scheme = rules(allowed_schemes="", disallowed_schemes="ftp")
    assert not uri_allowed("ftp://127.0.0.1/x", deny_scheme)
    assert uri_allowed("gopher://127.0.0.1/x", deny_scheme)


def test_hostnames_are_normalized() -> None:
    assert literal_host("127.000.0.1") is None  # leading zeros: octal to some resolvers
    assert literal_host("::ffff:7f00:1") == "::ffff:7f00:1"
    assert literal_host("0x7f000001") is None  # hex, as inet_aton reads it
    assert literal_host("127.0x0.0.1") is None
    assert literal_host("a\x00b") is None
    assert literal_host("a b") is None
    assert literal_host("-a.example") is None
    assert literal_host("x" * 64 + ".example") is None  # a label over 63
    assert literal_host("images.example.org") == "images.example.org"


def test_names_are_not_looked_up_without_host_lists() -> None:
    # Nothing a host list could be bypassed with: the download, not the filter, fails an unknown name.
    assert uri_allowed("http://no-such-host.invalid/x", rules())
    assert not uri_allowed("http://no-such-host.invalid:8080/x", rules())
    # With an allow list a name outside it is refused before any lookup.
    assert not uri_allowed("http://no-such-host.invalid/x", rules(allowed_hosts="127.0.0.1"))


GOOD = hashlib.sha256(b"x").hexdigest()


def test_parse_add_location() -> None:
    assert parse_add({"url": "file:///a"}) == ("file:///a", {})
    assert parse_add({"url": "file:///a", "validation_data": {}}) == ("file:///a", {})
    got = parse_add({"url": "u", "validation_data": {"os_hash_algo": "sha256", "os_hash_value": GOOD.upper()}})
    assert got == ("u", {"os_hash_algo": "sha256", "os_hash_value": GOOD})


@pytest.mark.parametrize("body", [
    [], {"url": 3}, {}, {"url": ""},
    {"url": "u", "validation_data": []},
    {"url": "u", "validation_data": {"os_hash_algo": "sha256"}},
    {"url": "u", "validation_data": {"os_hash_value": GOOD}},
    {"url": "u", "validation_data": {"os_hash_algo": "sha3", "os_hash_value": GOOD}},
    {"url": "u", "validation_data": {"os_hash_algo": "sha512", "os_hash_value": GOOD}},
    {"url": "u", "validation_data": {"os_hash_algo": "sha256", "os_hash_value": "xyz"}},
    {"url": "u", "validation_data": {"os_hash_algo": "sha256", "os_hash_value": GOOD, "checksum": "0"}},
])
def test_parse_add_location_refusals(body: Any) -> None:
    with pytest.raises(BadRequest):
        parse_add(body)
