"""Temp URLs: the ``swift tempurl`` command's URLs (account and container keys, every digest,
ISO 8601 expiry, prefix URLs, PUT through a URL), filename/inline, refusals (401, 400) and a URL
that works until it expires — through python-swiftclient, its CLI and plain HTTP without a token."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from swiftclient.utils import generate_temp_url

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.object_store_accounts import SwiftAccount, new_account

ACCOUNT_KEY, CONTAINER_KEY = "acct-secret", "cont-secret"


@pytest.fixture(scope="module")
def acct(cloud: RunningCloud, admin: Any) -> SwiftAccount:
    account = new_account(cloud, admin)
    account.swift.post_account({"X-Account-Meta-Temp-URL-Key": ACCOUNT_KEY})
    return account


@pytest.fixture(scope="module")
def box(acct: SwiftAccount) -> str:
    name = "tu-" + uuid.uuid4().hex[:8]
    acct.swift.put_container(name, headers={"X-Container-Meta-Temp-URL-Key": CONTAINER_KEY})
    acct.swift.put_object(name, "dir/file.txt", b"temporary", content_type="text/plain",
                          headers={"X-Object-Meta-Color": "red", "X-Object-Meta-Public-Tag": "t"})
    return name


def signed(acct: SwiftAccount, path: str, method: str = "GET", key: str = ACCOUNT_KEY, seconds: int = 300,
           **kw: Any) -> str:
    """The absolute temp URL of ``path`` (``/<container>/<object>`` under the account)."""
    parts = urlsplit(acct.url)
    full = parts.path + path
    base = parts.path[:-len("/v1/" + acct.name)]
    url = generate_temp_url(full[len(base):], seconds, key, method, **kw)
    return f"{parts.scheme}://{parts.netloc}{base}{url}"


def test_get_and_head_with_account_and_container_keys(acct: SwiftAccount, box: str) -> None:
    for key in (ACCOUNT_KEY, CONTAINER_KEY):
        for digest in ("sha1", "sha256", "sha512"):
            got = requests.get(signed(acct, f"/{box}/dir/file.txt", key=key, digest=digest), timeout=30)
            assert got.status_code == 200 and got.content == b"temporary", (key, digest, got.text)
            assert got.headers["Content-Disposition"] == \
                "attachment; filename=\"file.txt\"; filename*=UTF-8''file.txt"
            assert "Expires" in got.headers
            assert "X-Object-Meta-Color" not in got.headers and got.headers["X-Object-Meta-Public-Tag"] == "t"
    # A HEAD passes with a GET's signature.
    assert requests.head(signed(acct, f"/{box}/dir/file.txt"), timeout=30).status_code == 200
    iso = requests.get(signed(acct, f"/{box}/dir/file.txt", iso8601=True), timeout=30)
    assert iso.status_code == 200
    inline = requests.get(signed(acct, f"/{box}/dir/file.txt") + "&inline&filename=n%C3%A9.txt", timeout=30)
    assert inline.headers["Content-Disposition"] == "inline; filename=\"n%C3%A9.txt\"; filename*=UTF-8''n%C3%A9.txt"


def test_put_and_prefix_urls(acct: SwiftAccount, box: str) -> None:
    put = requests.put(signed(acct, f"/{box}/uploaded", method="PUT"), data=b"via url", timeout=30)
    assert put.status_code == 201, put.text
    assert acct.swift.get_object(box, "uploaded")[1] == b"via url"
    # A GET's URL does not PUT, nor reach another object.
    assert requests.put(signed(acct, f"/{box}/uploaded"), data=b"x", timeout=30).status_code == 401
    url = signed(acct, f"/{box}/dir/file.txt")
    assert requests.get(url.replace("dir/file.txt", "uploaded"), timeout=30).status_code == 401
    prefix = signed(acct, f"/{box}/dir/", prefix=True)
    assert requests.get(prefix.replace("/dir/?", "/dir/file.txt?"), timeout=30).status_code == 200
    assert requests.get(prefix.replace("/dir/?", "/uploaded?"), timeout=30).status_code == 401


def test_refusals(acct: SwiftAccount, box: str, admin: Any, cloud: RunningCloud) -> None:
    url = signed(acct, f"/{box}/dir/file.txt")
    bad = url.replace("temp_url_sig=", "temp_url_sig=00")
    resp = requests.get(bad, timeout=30)
    assert resp.status_code == 401 and resp.text == "401 Unauthorized: Temp URL invalid\n"
    assert requests.get(signed(acct, f"/{box}/dir/file.txt", key="wrong"), timeout=30).status_code == 401
    assert requests.get(url.split("&temp_url_expires")[0], timeout=30).status_code == 401
    assert requests.get(url.split("temp_url_sig")[0] + "temp_url_expires=99999999999", timeout=30).status_code == 401
    # A key of another account signs nothing here.
    other = new_account(cloud, admin)
    other.swift.post_account({"X-Account-Meta-Temp-URL-Key": "other"})
    assert requests.get(signed(acct, f"/{box}/dir/file.txt", key="other"), timeout=30).status_code == 401
    # Headers a temp URL may not set.
    put = requests.put(signed(acct, f"/{box}/m", method="PUT"), headers={"X-Object-Manifest": f"{box}/dir"},
                       data=b"", timeout=30)
    assert put.status_code == 400 and "X-Object-Manifest" in put.text


def test_url_expires(acct: SwiftAccount, box: str) -> None:
    url = signed(acct, f"/{box}/dir/file.txt", seconds=2)
    assert requests.get(url, timeout=30).status_code == 200
    wait_until(lambda: requests.get(url, timeout=30).status_code == 401, timeout=10, interval=0.2,
               what="the temp URL to expire")


def test_swift_tempurl_cli(acct: SwiftAccount, box: str) -> None:
    path = urlsplit(acct.url).path
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "swift"), "tempurl", "GET", "60",
                          f"{path}/{box}/dir/file.txt", ACCOUNT_KEY], capture_output=True, text=True, check=True)
    parts = urlsplit(acct.url)
    got = requests.get(f"{parts.scheme}://{parts.netloc}{out.stdout.strip()}", timeout=30)
    assert got.status_code == 200 and got.content == b"temporary"


def test_keys_are_the_owners(acct: SwiftAccount, box: str) -> None:
    assert acct.swift.head_account()["x-account-meta-temp-url-key"] == ACCOUNT_KEY
    assert acct.swift.head_container(box)["x-container-meta-temp-url-key"] == CONTAINER_KEY


def test_info_advertises_tempurl(cloud: RunningCloud) -> None:
    info = requests.get(cloud.base_url + "/info", timeout=30).json()
    assert info["tempurl"]["methods"] == ["GET", "HEAD", "PUT", "POST", "DELETE"]
    assert info["tempurl"]["allowed_digests"] == ["sha1", "sha256", "sha512"]
    assert "formpost" in info and "staticweb" in info and "account_quotas" in info and "container_quotas" in info
