"""``limit``/``marker`` parsing and the next-page links."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from onestack.core.api.faults import BadRequest
from onestack.core.api.pagination import Page, links, next_link, page_params
from tests.unit.core.requests import make_request


def items(*ids: str) -> list[dict[str, str]]:
    return [{"id": i, "name": f"n-{i}"} for i in ids]


def test_no_parameters() -> None:
    assert page_params(make_request()) == Page(limit=None, marker=None)


def test_limit_and_marker() -> None:
    assert page_params(make_request(query="limit=5&marker=abc")) == Page(limit=5, marker="abc")
    assert page_params(make_request(query="limit=0")) == Page(limit=0, marker=None)
    assert page_params(make_request(query="marker=")) == Page(limit=None, marker=None)


def test_limit_is_capped() -> None:
    assert page_params(make_request(query="limit=5000")).limit == 1000
    assert page_params(make_request(query="limit=50"), max_limit=10).limit == 10


@pytest.mark.parametrize("query", ["limit=abc", "limit=-1", "limit=1.5", "limit="])
def test_bad_limit_is_400(query: str) -> None:
    with pytest.raises(BadRequest):
        page_params(make_request(query=query))


def test_full_page_links_to_the_next() -> None:
    request = make_request("/v2.1/flavors", query="limit=2&sort_key=name&marker=old")
    page = page_params(request)
    url = next_link(request, items("a", "b"), page)
    assert url is not None
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "127.0.0.1:5000", "/v2.1/flavors")
    assert parse_qsl(parts.query) == [("limit", "2"), ("sort_key", "name"), ("marker", "b")]


def test_short_page_or_no_limit_has_no_next() -> None:
    request = make_request(query="limit=3")
    assert next_link(request, items("a", "b"), page_params(request)) is None
    assert next_link(request, [], page_params(request)) is None
    unlimited = make_request()
    assert next_link(unlimited, items("a", "b"), page_params(unlimited)) is None


def test_next_link_by_another_key() -> None:
    request = make_request(query="limit=1")
    url = next_link(request, items("a"), page_params(request), key="name")
    assert url is not None and url.endswith("marker=n-a")


def test_collection_links() -> None:
    request = make_request("/v3/volumes", query="limit=1")
    page = page_params(request)
    assert links(request, items("a"), page, "volumes") == [
        {"rel": "next", "href": "http://127.0.0.1:5000/v3/volumes?limit=1&marker=a"}]
    assert links(request, [], page, "volumes") == []
