"""The object controller's pure rules: quorum, Swift's best response, X-Delete-At/After checks."""

from __future__ import annotations

import pytest

from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.obj import best_status, check_delete_headers, quorum_size
from onestack.object_store.proxy.request import Headers, SwiftRequest
from onestack.object_store.timestamp import Timestamp

NOW = Timestamp(1_700_000_000.5)


def request(**headers: str) -> SwiftRequest:
    return SwiftRequest("PUT", "/v1/AUTH_p/c/o", headers=Headers(headers))


@pytest.mark.parametrize(("n", "q"), [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3)])
def test_quorum_size(n: int, q: int) -> None:
    assert quorum_size(n) == q


@pytest.mark.parametrize(("statuses", "expected"), [
    ([201, 201, 201], 201),
    ([201, 201, 503], 201),
    ([201, 503, 503], None),
    ([422, 422, 422], 422),
    ([404, 404, 201], 404),
    ([409, 412, 503], 412),
    ([503, 503, 507], None),
])
def test_best_status(statuses: list[int], expected: int | None) -> None:
    assert best_status(statuses, quorum_size(len(statuses))) == expected


def test_delete_after_becomes_delete_at() -> None:
    req = request(**{"X-Delete-After": "60"})
    check_delete_headers(req, NOW)
    assert "x-delete-after" not in req.headers
    assert req.headers["x-delete-at"] == "1700000060"


def test_delete_at_is_normalized() -> None:
    req = request(**{"X-Delete-At": "1800000000"})
    check_delete_headers(req, NOW)
    assert req.headers["x-delete-at"] == "1800000000"


@pytest.mark.parametrize(("headers", "detail"), [
    ({"X-Delete-After": "0"}, "X-Delete-After in past"),
    ({"X-Delete-After": "-1"}, "X-Delete-After in past"),
    ({"X-Delete-After": "ten"}, "Non-integer X-Delete-After"),
    ({"X-Delete-At": "1700000000"}, "X-Delete-At in past"),
    ({"X-Delete-At": "1.5e9"}, "Non-integer X-Delete-At"),
])
def test_bad_delete_headers(headers: dict[str, str], detail: str) -> None:
    with pytest.raises(SwiftError) as info:
        check_delete_headers(request(**headers), NOW)
    assert (info.value.status, info.value.detail) == (400, detail)
