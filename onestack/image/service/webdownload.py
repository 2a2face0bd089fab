"""web-download: Glance's URI filtering (``[import_filtering_opts]``) and the download into staging.

The URI is checked when the import is requested (400 when it does not pass, as Glance), and
every redirect target is checked again before it is followed (Glance's SafeRedirectHandler),
so a permitted host cannot bounce the download to a forbidden one.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlparse

import anyio.to_thread
import httpx

MAX_REDIRECTS = 10
TIMEOUT = httpx.Timeout(60.0, connect=30.0)
CHUNK = 1 << 16


class DownloadFailed(Exception):
    """The URI could not be fetched (status, redirect, connection); the message says why."""


def _words(value: str) -> list[str]:
    return [w.strip() for w in (value or "").split(",") if w.strip()]


def _ports(value: str) -> list[int]:
    return [int(w) for w in _words(value)]


@dataclass(frozen=True)
class UriFilter:
    allowed_schemes: list[str]
    disallowed_schemes: list[str]
    allowed_hosts: list[str]
    disallowed_hosts: list[str]
    allowed_ports: list[int]
    disallowed_ports: list[int]

    @classmethod
    def of(cls, image_conf: Any) -> UriFilter:
        c = image_conf
        return cls(_words(c.import_filtering_allowed_schemes), _words(c.import_filtering_disallowed_schemes),
                   _words(c.import_filtering_allowed_hosts), _words(c.import_filtering_disallowed_hosts),
                   _ports(c.import_filtering_allowed_ports), _ports(c.import_filtering_disallowed_ports))


# An RFC 1123 name, label by label (underscores tolerated, as resolvers do).
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")


def literal_host(host: str | None) -> str | None:
    """Glance's normalize_hostname without the lookup: a canonical IP, a well-formed name, or None.

    Encoded addresses (``2130706433``, ``127.1``, ``0x7f000001``, ``127.000.0.1``) are refused
    rather than left to the resolver, which would read them as an address a list does not name;
    so is anything that is not a hostname at all (NUL, spaces, over-long labels).
    """
    if not host:
        return host
    for kind in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        try:
            return str(kind(host))
        except ValueError:
            pass
    if all(c.isdigit() or c == "." for c in host):
        return None
    try:
        socket.inet_aton(host)  # inet_aton's hex/octal/short forms: an address in disguise
        return None
    except (OSError, ValueError):
        pass
    try:
        ascii_name = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = ascii_name.removesuffix(".").split(".")
    if len(ascii_name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return host


def resolves(host: str) -> bool:
    """Whether DNS knows ``host`` (the trailing dot forces a lookup instead of numeric parsing)."""
    try:
        socket.getaddrinfo(host if host.endswith(".") else host + ".", 80)
    except (OSError, ValueError, UnicodeError):
        return False
    return True


def uri_allowed(uri: Any, rules: UriFilter) -> bool:
    """Glance's validate_import_uri; blocking when a hostname must be resolved.

    Glance resolves every hostname; here a name is looked up only when host lists are configured
    and it could pass them (then, as Glance, a name DNS does not know is refused). Without host
    lists the lookup would decide nothing a list could bypass, so a well-formed name passes and
    an unknown one fails the download instead; this keeps made-up URIs (fuzzing, typos) from
    sending a DNS query each.
    """
    if not uri or not isinstance(uri, str):
        return False
    try:
        parsed = urlparse(uri)
        port = parsed.port
    except ValueError:
        return False
    bad_schemes = [] if rules.allowed_schemes else rules.disallowed_schemes
    bad_hosts = [] if rules.allowed_hosts else rules.disallowed_hosts
    bad_ports = [] if rules.allowed_ports else rules.disallowed_ports
    scheme = parsed.scheme
    if not scheme or (rules.allowed_schemes and scheme not in rules.allowed_schemes) or scheme in bad_schemes:
        return False
    host = literal_host(parsed.hostname)
    if not host or (rules.allowed_hosts and host not in rules.allowed_hosts) or host in bad_hosts:
        return False
    if port and ((rules.allowed_ports and port not in rules.allowed_ports) or port in bad_ports):
        return False
    filtered = bool(rules.allowed_hosts or rules.disallowed_hosts)
    return not filtered or _is_ip(host) or resolves(host)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def passes(image_conf: Any, uri: Any) -> bool:
    """``uri_allowed`` under the configured filter, off the event loop (a hostname may be resolved)."""
    return bool(await anyio.to_thread.run_sync(uri_allowed, uri, UriFilter.of(image_conf)))


async def fetch(uri: str, rules: UriFilter) -> AsyncIterator[bytes]:
    """Stream the body at ``uri``, following only redirects that pass the filter."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=TIMEOUT, trust_env=False) as client:
        url = uri
        for _ in range(MAX_REDIRECTS + 1):
            async with client.stream("GET", url) as resp:
                if resp.is_redirect:
                    target = urljoin(url, resp.headers.get("location", ""))
                    if not await anyio.to_thread.run_sync(uri_allowed, target, rules):
                        raise DownloadFailed(f"Redirect to disallowed URL: {target}")
                    url = target
                    continue
                if resp.status_code != 200:
                    raise DownloadFailed(f"HTTP {resp.status_code} from {url}")
                expected = resp.headers.get("content-length")
                got = 0
                async for chunk in resp.aiter_bytes(CHUNK):
                    got += len(chunk)
                    yield chunk
                if expected and expected.isdigit() and int(expected) != got:
                    raise DownloadFailed(f"Downloaded data size {got} is different from expected {expected}")
                return
        raise DownloadFailed(f"Too many redirects from {uri}")
