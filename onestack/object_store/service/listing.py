"""Listings (Swift's ``list_objects_iter`` / ``list_containers_iter``): names in UTF-8 byte order with
``marker``, ``end_marker``, ``prefix``, ``delimiter`` (pseudo-folders as ``subdir`` entries),
``reverse`` and ``path``, as one query per page in the database.

The name columns use a byte-order collation (models.py), so the bounds are plain ``>``/``<``
comparisons and ``ORDER BY name`` is Swift's order on every backend; nothing is sorted in Python.
A delimiter is resolved as Swift does: when a row's name has the delimiter after the prefix, the
pseudo-folder is emitted and the scan jumps past everything under it (one more query per folder).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement

from onestack.object_store.errors import SwiftError

TRUE_VALUES = ("true", "1", "yes", "on", "t", "y")
FIRST_BATCH = 32


@dataclass
class ListingParams:
    limit: int
    marker: str = ""
    end_marker: str = ""
    prefix: str = ""
    delimiter: str = ""
    reverse: bool = False
    path: str | None = None  # Swift's ``path``: only the names directly in that pseudo-folder


def parse_params(query: dict[str, str], max_limit: int) -> ListingParams:
    """The listing parameters of a GET; 412 as Swift answers a limit over the maximum or a bad delimiter."""
    limit = max_limit
    given = query.get("limit", "")
    if given.isdigit():  # Swift ignores a limit that is not a number
        limit = int(given)
        if limit > max_limit:
            raise SwiftError(412, f"Maximum limit is {max_limit}")
    delimiter = query.get("delimiter", "")
    if delimiter and (len(delimiter) > 1 or ord(delimiter) > 254):
        raise SwiftError(412, "Bad delimiter")
    params = ListingParams(
        limit=limit, marker=query.get("marker", ""), end_marker=query.get("end_marker", ""),
        prefix=query.get("prefix", ""), delimiter=delimiter,
        reverse=query.get("reverse", "").lower() in TRUE_VALUES, path=query.get("path"))
    if params.path is not None:
        # A path lists one level: its own prefix with "/" as the delimiter (no subdir entries).
        params.prefix = params.path.rstrip("/") + "/" if params.path else ""
        params.delimiter = "/"
    return params


def _after(text: str) -> str | None:
    """The smallest string greater than every string starting with ``text`` (None: there is none
    we can write). Code point order is UTF-8 byte order, so bumping the last code point works."""
    while text:
        last = ord(text[-1])
        if last < 0x10FFFF:
            nxt = last + 1
            if 0xD800 <= nxt <= 0xDFFF:  # surrogates are not UTF-8
                nxt = 0xE000
            return text[:-1] + chr(nxt)
        text = text[:-1]
    return None


def iterate(params: ListingParams, column: Any, base: Any, fetch: Callable[[Any], list[Any]],
            name_of: Callable[[Any], str]) -> list[Any]:
    """Rows (or ``{"subdir": name}``) of one listing page.

    ``base`` selects the rows of the container or account (no bounds, no order); ``fetch`` runs a
    statement and returns its rows; ``name_of`` gives a row's name."""
    lower, upper = params.marker, params.end_marker  # exclusive bounds in name order
    if params.reverse:
        lower, upper = upper, lower
    lower_inclusive = False  # after a forward jump over a pseudo-folder
    prefix, delimiter = params.prefix, params.delimiter
    prefix_end = _after(prefix) if prefix else None
    out: list[Any] = []
    # With a delimiter a page may end at the first pseudo-folder: fetch small batches first and
    # grow them while no folder interrupts (fetching the whole rest each time was measured at
    # 0.6 s for 50 folders among 3000 names).
    batch = FIRST_BATCH
    while len(out) < params.limit:
        conds: list[ColumnElement[bool]] = []
        if lower:
            conds.append(column >= lower if lower_inclusive else column > lower)
        if upper:
            conds.append(column < upper)
        if prefix:
            conds.append(column >= prefix)
            if prefix_end is not None:
                conds.append(column < prefix_end)
        want = params.limit - len(out)
        if delimiter:
            want = min(want, batch)
        rows = fetch(base.where(*conds).order_by(column.desc() if params.reverse else column.asc()).limit(want))
        jumped = False
        for row in rows:
            name = name_of(row)
            if prefix and not name.startswith(prefix):  # only past a prefix we could not bound
                return out
            cut = name.find(delimiter, len(prefix)) if delimiter else -1
            if params.path is not None and name == params.path:
                continue
            if cut >= 0 and (params.path is None or len(name) > cut + 1):
                folder = name[:cut + 1]
                if params.path is None and (params.reverse or folder != params.marker):
                    out.append({"subdir": folder})
                # Go on past everything under the folder: one new query.
                if params.reverse:
                    upper = folder
                else:
                    lower, lower_inclusive = _after(folder) or folder, _after(folder) is not None
                jumped = True
                break
            out.append(row)
            if len(out) >= params.limit:
                return out
        if jumped:
            batch = FIRST_BATCH
        else:
            if len(rows) < want:
                break
            batch *= 2
            last = name_of(rows[-1])
            if params.reverse:
                upper = last
            else:
                lower, lower_inclusive = last, False
    return out
