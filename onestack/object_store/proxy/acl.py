"""Swift's ACLs: container ACLs (``X-Container-Read`` / ``X-Container-Write``, the "v1" comma list of
grantees and referrer designations) and account ACLs (``X-Account-Access-Control``, the "v2" JSON
object with ``admin`` / ``read-write`` / ``read-only`` lists).

Container ACL items:
  ``<project>:<user>`` (either may be ``*``, ids or, in the default domain, names) — a grantee;
  ``.r:<host>`` / ``.r:.<domain>`` / ``.r:*`` — requests whose Referer matches (anonymous too);
  ``.r:-<host>`` — refuses a referrer an earlier item allowed;
  ``.rlistings`` — referrer access also lists the container.
"""

from __future__ import annotations

import json
from urllib.parse import unquote, urlparse

from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.request import Headers

REFERRER_DESIGNATORS = (".r", ".ref", ".referer", ".referrer")
ACCOUNT_ACL_KEYS = ("admin", "read-write", "read-only")
ACCOUNT_ACL_HEADER = "x-account-access-control"
# Where the account ACL is kept: system metadata, which clients can neither set nor read directly.
ACCOUNT_ACL_SYSMETA = "x-account-sysmeta-core-access-control"
# Headers only an account's owner may set or see (Swift's swift_owner_headers).
OWNER_HEADERS = (
    "x-container-read", "x-container-write", "x-container-sync-key", "x-container-sync-to",
    "x-account-meta-temp-url-key", "x-account-meta-temp-url-key-2", "x-container-meta-temp-url-key",
    "x-container-meta-temp-url-key-2", ACCOUNT_ACL_HEADER,
)


def clean_acl(name: str, value: str) -> str:
    """The ACL with Swift's tidying (``bob , sue`` → ``bob,sue``, ``.referrer:*`` → ``.r:*``);
    ValueError with Swift's words when an item cannot be understood."""
    name = name.lower()
    items: list[str] = []
    for raw in value.split(","):
        raw = raw.strip()
        if not raw:
            continue
        if ":" not in raw:
            items.append(raw)
            continue
        first, second = (part.strip() for part in raw.split(":", 1))
        if not first or not first.startswith("."):
            items.append(raw)
        elif first in REFERRER_DESIGNATORS:
            if "write" in name:
                raise ValueError(f"Referrers not allowed in write ACL: {raw!r}")
            negate = second.startswith("-")
            if negate:
                second = second[1:].strip()
            if second and second != "*" and second.startswith("*"):
                second = second[1:].strip()  # "*.example.com" is ".example.com"
            if not second or second == ".":
                raise ValueError(f"No host/domain value after referrer designation in ACL: {raw!r}")
            items.append(f".r:{'-' if negate else ''}{second}")
        else:
            raise ValueError(f"Unknown designator {first!r} in ACL: {raw!r}")
    return ",".join(items)


def parse_acl(acl: str | None) -> tuple[list[str], list[str]]:
    """(referrers without ``.r:``, grantees) of a cleaned container ACL."""
    referrers: list[str] = []
    groups: list[str] = []
    for item in (acl or "").split(","):
        if not item:
            continue
        if item.startswith(".r:"):
            referrers.append(item[3:])
        else:
            groups.append(unquote(item))
    return referrers, groups


def referrer_allowed(referrer: str | None, referrers: list[str]) -> bool:
    """Whether the Referer's host passes the designations, applied in order (a later ``-`` wins)."""
    allow = False
    if not referrers:
        return False
    try:
        host = urlparse(referrer or "").hostname or "unknown"
    except ValueError:
        host = "unknown"
    for designation in referrers:
        if designation.startswith("-"):
            pattern = designation[1:]
            if pattern == host or (pattern.startswith(".") and host.endswith(pattern)):
                allow = False
        elif designation == "*" or designation == host or (designation.startswith(".") and host.endswith(designation)):
            allow = True
    return allow


def clean_container_acl_headers(headers: Headers) -> None:
    """400 with Swift's text for a bad ``X-Container-Read``/``-Write``; otherwise rewrites them cleaned."""
    for name in ("x-container-read", "x-container-write"):
        if name in headers:
            try:
                headers[name] = clean_acl(name, headers[name])
            except ValueError as exc:
                raise SwiftError(400, str(exc)) from None


def account_acl_error(data: str) -> str | None:
    """Why an ``X-Account-Access-Control`` value is refused, or None when it is a valid v2 ACL."""
    try:
        parsed = json.loads(data) if data != "" else {}
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        return f"Syntax error in input ({data!r})"
    for key in parsed:
        if key not in ACCOUNT_ACL_KEYS:
            return f"Key {json.dumps(key)} not recognized"
    for key in ACCOUNT_ACL_KEYS:
        if key not in parsed:
            continue
        if not isinstance(parsed[key], list):
            return f"Value for key {json.dumps(key)} must be a list"
        if not all(isinstance(grantee, str) for grantee in parsed[key]):
            return f"Elements of {json.dumps(key)} list must be strings"
    return None


def format_account_acl(acl: dict[str, list[str]]) -> str:
    """Swift's v2 form: compact, ASCII-only JSON with sorted keys."""
    return json.dumps(acl, ensure_ascii=True, separators=(",", ":"), sort_keys=True)


def account_acls(stored: str | None) -> dict[str, list[str]] | None:
    """The stored account ACL as ``{admin, read-write, read-only}``; None when unset or unreadable."""
    if not stored:
        return None
    try:
        parsed = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    acls = {key: [g for g in parsed.get(key, []) if isinstance(g, str)] if isinstance(parsed.get(key), list) else []
            for key in ACCOUNT_ACL_KEYS}
    return acls if any(acls.values()) else None
