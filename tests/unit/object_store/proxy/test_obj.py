"""The object controller's pure rules: quorum, Swift's best response, X-Delete-At/After checks."""

from __future__ import annotations

import pytest

from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.obj import check_delete_headers
from onestack.object_store.proxy.quorum import (
    best_status,
    delete_status,
    post_status,
    quorum_size,
    read_status,
)
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


@pytest.mark.parametrize(("statuses", "expected"), [
    ([204, 204, 204], 204),
    ([204, 204, 404], 204),
    ([204, 404, 404], 404),  # a quorum never had it: Swift answers 404, not the one 204
    ([404, 404, 404], 404),
    ([204, 404, 503], 204),  # no quorum as is: the 404 stands in for a 204, the real 204 answers
    ([404, 503, 503], None),  # only stand-ins would make the quorum: 503
    ([404, 404, 503], 404),
    ([204, 503, 503], None),
    ([409, 409, 204], 409),
])
def test_delete_status(statuses: list[int], expected: int | None) -> None:
    assert delete_status(statuses, quorum_size(len(statuses))) == expected


@pytest.mark.parametrize(("statuses", "expected"), [
    ([202, 202, 202], 202),
    ([202, 202, 404], 202),
    ([202, 404, 404], None),  # an existence proof against a quorum of 404s: 503, never 404
    ([202, 404, 404, 202, 202], 202),  # the handoffs asked for the 404s had it
    ([202, 404, 404, 404, 404], None),
    ([404, 404, 404], 404),
    ([404, 404, 503], 404),
    ([202, 503, 503], None),
])
def test_post_status(statuses: list[int], expected: int | None) -> None:
    assert post_status(statuses, 2) == expected


@pytest.mark.parametrize(("statuses", "expected"), [
    ([], 503),
    ([404], 404),
    ([404, 404, 404], 404),
    ([404, 507, 503], 503),
    ([404, 404, 507], 404),
    ([412, 412, 404], 412),
])
def test_read_status(statuses: list[int], expected: int) -> None:
    assert read_status(statuses) == expected


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
