"""SLO's manifest checks (Swift's parse_and_validate_input words) and the large object's ETag."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from onestack.object_store.errors import SwiftError
from onestack.object_store.middleware.slo import parse_manifest, slo_etag_of

PATH = "/v1/AUTH_p/c/manifest"


def _errors(manifest: object) -> str:
    with pytest.raises(SwiftError) as err:
        parse_manifest(json.dumps(manifest).encode(), PATH)
    assert err.value.status == 400
    return err.value.body.decode()


def test_valid_manifest_is_kept() -> None:
    segs = parse_manifest(json.dumps([{"path": "/s/one", "etag": None, "size_bytes": "3"},
                                      {"data": "aGk="}, {"path": "s/two", "range": "1-2"}]).encode(), PATH)
    assert segs[0]["size_bytes"] == 3 and segs[1] == {"data": "aGk="} and segs[2]["range"] == "1-2"


def test_shape_errors_are_swifts() -> None:
    assert _errors({"path": "x"}) == "Manifest must be a list.\n"
    with pytest.raises(SwiftError) as err:
        parse_manifest(b"{nope", PATH)
    assert err.value.body == b"Manifest must be valid JSON.\n"
    with pytest.raises(SwiftError) as err:
        parse_manifest(b"[" * 100000, PATH)  # deeper than the JSON parser goes: still the client's error
    assert err.value.body == b"Manifest must be valid JSON.\n"
    body = _errors([1, {"nothing": 1}, {"path": "/s/o", "bad": 1}, {"path": "noslash"}, {"path": "/s/o", "size_bytes": "x"},
                    {"path": "/s/o", "size_bytes": 0}, {"path": "/c/manifest"}, {"path": "/s/o", "range": "5-1"},
                    {"path": "/s/o", "range": "1-2,4-5"}, {"path": "/s/o", "range": "20-", "size_bytes": 10},
                    {"data": "!!"}, {"path": "/s/o"}])
    assert body.splitlines() == [
        "Index 0: not a JSON object",
        "Index 1: expected keys to include one of 'path' or 'data'",
        'Index 2: extraneous keys "bad"',
        "Index 3: path does not refer to an object. Path must be of the form /container/object.",
        "Index 4: invalid size_bytes",
        "Index 5: too small; each segment must be at least 1 byte.",
        "Index 6: manifest must not include itself as a segment",
        "Index 7: invalid range",
        "Index 8: multiple ranges (only one allowed)",
        "Index 9: unsatisfiable range",
        "Index 10: data must be valid base64",
    ]
    assert _errors([{"data": "aGk="}]) == "Inline data segments require at least one object-backed segment.\n"


def test_slo_etag_is_md5_of_the_segment_etags() -> None:
    a, b = "a" * 32, "b" * 32
    data = base64.b64encode(b"hi").decode()
    expected = hashlib.md5((a + f"{b}:1-2;" + hashlib.md5(b"hi").hexdigest()).encode()).hexdigest()
    assert slo_etag_of([{"hash": a}, {"hash": b, "range": "1-2"}, {"data": data}]) == expected
