"""Static web: a public container served to a browser without a token — the redirect to the
directory's slash, index pages, HTML listings (with a style sheet), custom error pages, pseudo
directories — and nothing of it for a token's owner unless X-Web-Mode asks, nor for a private
container."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from tests.functional.object_store_accounts import SwiftAccount, account_fixture

acct = account_fixture()


def site(acct: SwiftAccount, read: str = ".r:*,.rlistings", **meta: str) -> str:
    name = "web-" + uuid.uuid4().hex[:8]
    headers = {"X-Container-Read": read}
    headers.update({f"X-Container-Meta-Web-{k.replace('_', '-')}": v for k, v in meta.items()})
    acct.swift.put_container(name, headers=headers)
    return name


def browse(acct: SwiftAccount, path: str, **kw: Any) -> requests.Response:
    return requests.get(acct.url + path, allow_redirects=False, timeout=30, **kw)


def test_listing_of_an_empty_site_and_the_slash_redirect(acct: SwiftAccount) -> None:
    name = site(acct, Listings="true")
    moved = browse(acct, "/" + name)
    assert moved.status_code == 301 and moved.headers["Location"] == f"{acct.url}/{name}/"
    page = browse(acct, f"/{name}/")
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert f"<title>Listing of /v1/{acct.name}/{name}/</title>" in page.text
    assert '<table id="listing">' in page.text and "<style" in page.text
    assert "X-Backend-Content-Generator" not in page.headers
    styled = site(acct, Listings="true", Listings_CSS="style.css")
    assert '<link rel="stylesheet" type="text/css" href="style.css" />' in browse(acct, f"/{styled}/").text
    # The owner's token gets Swift's own listing, unless it asks for the web view.
    assert acct.request("GET", f"/{name}/").status_code == 204
    assert acct.request("GET", f"/{name}/", headers={"X-Web-Mode": "true"}).status_code == 200


def test_private_or_unlisted_containers_are_not_sites(acct: SwiftAccount) -> None:
    private = site(acct, read="", Listings="true")
    assert browse(acct, f"/{private}/").status_code == 401
    no_listing = site(acct, read=".r:*", Listings="true")
    assert browse(acct, f"/{no_listing}/").status_code == 401
    plain = site(acct)  # public, but no web settings: Swift's own listing
    assert browse(acct, f"/{plain}").status_code == 204


def test_index_listing_and_error_pages(acct: SwiftAccount) -> None:
    name = site(acct, Index="index.html", Listings="true", Error="error.html")
    for obj, body, ctype in (("index.html", b"<h1>home</h1>", "text/html"), ("a/index.html", b"<h1>a</h1>", "text/html"),
                             ("b/one.txt", b"1", "text/plain"), ("b/two.txt", b"22", "text/plain"),
                             ("404error.html", b"<h1>lost</h1>", "text/html")):
        acct.swift.put_object(name, obj, body, content_type=ctype)
    home = browse(acct, f"/{name}/")
    assert home.status_code == 200 and home.content == b"<h1>home</h1>"
    assert browse(acct, f"/{name}/a").status_code == 301
    assert browse(acct, f"/{name}/a/").content == b"<h1>a</h1>"
    listing = browse(acct, f"/{name}/b/")
    assert listing.status_code == 200
    assert '<a href="./one%2Etxt">one.txt</a>' in listing.text and '<a href="../">../</a>' in listing.text
    assert browse(acct, f"/{name}/b").status_code == 301
    missing = browse(acct, f"/{name}/nothing-here")
    assert missing.status_code == 404 and missing.content == b"<h1>lost</h1>"
    assert browse(acct, f"/{name}/b/one.txt").content == b"1"


def test_listing_disabled_page(acct: SwiftAccount) -> None:
    name = site(acct, Index="index.html")
    page = browse(acct, f"/{name}/")
    assert page.status_code == 404 and "Web Listing Disabled" in page.text and "index.html" in page.text
