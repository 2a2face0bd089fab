"""Accept negotiation as swob does it (``Accept.best_match``), for the listings and bulk's reports.

Each entry must be ``type/subtype`` with ``name=value`` parameters (tokens or quoted strings) and
at most one ``q``, else the header is malformed (ValueError: listings answer 400, bulk ignores
it). Entries are tried by quality, the ones without a wildcard first on a tie, in the order
written otherwise; the first that matches an offer (in the caller's order) wins. Like swob, a
``q=0`` entry is ranked last but not excluded. No header: the first offer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_TOKEN = r'[^()<>@,;:\\"/\[\]?={}\x00-\x20\x7f]+'
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_PARAM = rf"(?:\s*;\s*(?:{_TOKEN})\s*=\s*(?:{_TOKEN}|{_QUOTED}))"
_ENTRY = re.compile(rf"^\s*({_TOKEN})/({_TOKEN})({_PARAM}*?\s*)$")


def _patterns(header: str) -> list[re.Pattern[str]]:
    ranked: list[tuple[float, bool, re.Pattern[str]]] = []
    for entry in header.split(","):
        match = _ENTRY.match(entry)
        if match is None:
            raise ValueError(f"Invalid Accept header entry: {entry!r}")
        kind, sub, params = match.groups()
        quality: float | None = None
        for param in (p.strip() for p in params.split(";")):
            if not param:
                continue
            name, value = param.split("=")  # a quoted '=' is malformed for swob too
            if name.strip() == "q":
                if quality is not None:
                    raise ValueError('Multiple "q" params')
                quality = float(value.strip())
        kind_re = _TOKEN if kind == "*" else re.escape(kind)
        sub_re = _TOKEN if sub == "*" else re.escape(sub)
        ranked.append((1.0 if quality is None else quality, "*" not in (kind, sub),
                       re.compile(f"^{kind_re}/{sub_re}$")))
    ranked.sort(key=lambda r: (r[0], r[1]), reverse=True)  # stable: ties keep the header's order
    return [pattern for _q, _specific, pattern in ranked]


def best_match(header: str | None, offers: Sequence[str]) -> str | None:
    """The offer the header prefers, None when it accepts none; ValueError when malformed."""
    patterns = _patterns(header) if header else []
    if not patterns:
        return offers[0] if offers else None
    for pattern in patterns:
        for offer in offers:
            if pattern.match(offer):
                return offer
    return None
