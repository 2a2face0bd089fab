"""Form POST: a browser's multipart upload into a container with a signed form — files stored,
redirect with status and message, max_file_size / max_file_count, expiry and signature refusals,
prefixes — with no token at all."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.functional.cloud import RunningCloud
from tests.functional.object_store_accounts import SwiftAccount, new_account

KEY = "form-secret"


@pytest.fixture(scope="module")
def acct(cloud: RunningCloud, admin: Any) -> SwiftAccount:
    account = new_account(cloud, admin)
    account.swift.post_account({"X-Account-Meta-Temp-URL-Key": KEY})
    return account


def form_fields(path: str, redirect: str = "", max_size: int = 1024, max_count: int = 2, expires: int | None = None,
                key: str = KEY, digest: str = "sha256") -> dict[str, str]:
    expires = int(time.time() + 300) if expires is None else expires
    body = f"{path}\n{redirect}\n{max_size}\n{max_count}\n{expires}".encode()
    sig = hmac.new(key.encode(), body, getattr(hashlib, digest)).hexdigest()
    return {"redirect": redirect, "max_file_size": str(max_size), "max_file_count": str(max_count),
            "expires": str(expires), "signature": sig}


def post(acct: SwiftAccount, suffix: str, fields: dict[str, str], files: list[tuple[str, bytes]]) -> requests.Response:
    # Fields first, then files (the order a form sends them in, and the one Swift needs).
    parts: list[tuple[str, Any]] = [(k, (None, v)) for k, v in fields.items()]
    parts += [(f"file{i}", (name, data, "text/plain")) for i, (name, data) in enumerate(files)]
    return requests.post(acct.url + suffix, files=parts, allow_redirects=False, timeout=30)


def container(acct: SwiftAccount) -> str:
    name = "fp-" + uuid.uuid4().hex[:8]
    acct.swift.put_container(name)
    return name


def test_upload_two_files(acct: SwiftAccount) -> None:
    name = container(acct)
    path = urlsplit(acct.url).path + "/" + name  # signed as the URL's path, mount prefix and all
    resp = post(acct, "/" + name, form_fields(path), [("a.txt", b"alpha"), ("b.txt", b"beta")])
    assert resp.status_code == 201 and resp.text == "201 Created", resp.text
    assert acct.swift.get_object(name, "a.txt")[1] == b"alpha"
    headers, body = acct.swift.get_object(name, "b.txt")
    assert body == b"beta" and headers["content-type"] == "text/plain"


def test_redirect_prefix_and_limits(acct: SwiftAccount) -> None:
    name = container(acct)
    path = urlsplit(acct.url).path
    path = path[path.index("/v1/"):] + f"/{name}/up-"
    fields = form_fields(path, redirect="http://example.com/done?x=1", max_size=5, max_count=1)
    resp = post(acct, f"/{name}/up-", fields, [("a.txt", b"12345")])
    assert resp.status_code == 303
    assert resp.headers["Location"] == "http://example.com/done?x=1&status=201&message="
    assert acct.swift.get_object(name, "up-a.txt")[1] == b"12345"
    too_big = post(acct, f"/{name}/up-", form_fields(path, max_size=5, max_count=1), [("b.txt", b"123456")])
    assert too_big.status_code == 400 and too_big.text == "FormPost: max_file_size exceeded"
    too_many = post(acct, f"/{name}/up-", form_fields(path, max_size=5, max_count=1), [("c", b"1"), ("d", b"2")])
    assert too_many.status_code == 400 and "Max File Count Exceeded" in too_many.text
    names = [o["name"] for o in acct.swift.get_container(name)[1]]
    assert "up-b.txt" not in names and "up-d" not in names


def test_refusals(acct: SwiftAccount) -> None:
    name = container(acct)
    path = urlsplit(acct.url).path
    path = path[path.index("/v1/"):] + "/" + name
    expired = post(acct, "/" + name, form_fields(path, expires=int(time.time() - 10)), [("a", b"x")])
    assert expired.status_code == 401 and "FormPost: Form Expired" in expired.text
    wrong = post(acct, "/" + name, form_fields(path, key="nope"), [("a", b"x")])
    assert wrong.status_code == 401 and "FormPost: Invalid Signature" in wrong.text
    other_path = post(acct, "/" + name, form_fields(path + "x"), [("a", b"x")])
    assert other_path.status_code == 401
    nothing = post(acct, "/" + name, form_fields(path), [])
    assert nothing.status_code == 400 and nothing.text.endswith("FormPost: No Files To Process")
    garbage = requests.post(acct.url + "/" + name, data=b"not a form",
                            headers={"Content-Type": "multipart/form-data; boundary=zzz"}, timeout=30)
    assert garbage.status_code == 400 and garbage.text == "FormPost: invalid starting boundary"
    assert acct.swift.get_container(name)[1] == []
