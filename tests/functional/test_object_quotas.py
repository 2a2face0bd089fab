"""Quotas: container quotas (bytes, count) set by the owner, account quotas set only by a
reseller admin — uploads past either are 413 "Upload exceeds quota." and store nothing; a stranger
still gets 401/403 first; bad values are 400."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from tests.functional.cloud import RunningCloud
from tests.functional.object_store_accounts import SwiftAccount, account_fixture, new_account

acct = account_fixture()
reseller = account_fixture("ResellerAdmin")


def test_container_quotas(acct: SwiftAccount, cloud: RunningCloud, admin: Any) -> None:
    name = "q-" + uuid.uuid4().hex[:8]
    for header, text in (("X-Container-Meta-Quota-Bytes", "Invalid bytes quota."),
                         ("X-Container-Meta-Quota-Count", "Invalid count quota.")):
        for method in ("PUT", "POST"):
            resp = acct.request(method, "/" + name, headers={header: "ten"})
            assert resp.status_code == 400 and resp.text == text, (method, resp.status_code, resp.text)
    acct.swift.put_container(name, headers={"X-Container-Meta-Quota-Bytes": "10",
                                            "X-Container-Meta-Quota-Count": "2"})
    assert acct.request("PUT", f"/{name}/a", data=b"12345").status_code == 201
    over = acct.request("PUT", f"/{name}/b", data=b"123456")
    assert over.status_code == 413 and over.text == "Upload exceeds quota."
    assert acct.request("PUT", f"/{name}/b", data=b"12345").status_code == 201
    assert acct.request("PUT", f"/{name}/c", data=b"").status_code == 413  # a third object
    head = acct.swift.head_container(name)
    assert (head["x-container-object-count"], head["x-container-bytes-used"]) == ("2", "10")
    # A stranger learns nothing from the quota: 403 with a token, 401 without.
    other = new_account(cloud, admin)
    assert requests.put(f"{acct.url}/{name}/x", data=b"123456789012", headers={"X-Auth-Token": other.token},
                        timeout=30).status_code == 403
    assert requests.put(f"{acct.url}/{name}/x", data=b"123456789012", timeout=30).status_code == 401


def test_only_a_reseller_sets_account_quotas(acct: SwiftAccount, reseller: SwiftAccount) -> None:
    for header in ("X-Account-Meta-Quota-Bytes", "X-Account-Quota-Bytes", "X-Account-Quota-Count"):
        assert acct.request("POST", headers={header: "100"}).status_code == 403, header
    assert "x-account-quota-bytes" not in acct.swift.head_account()
    assert acct.request("POST", token=reseller.token, headers={"X-Account-Quota-Bytes": "lots"}).status_code == 400


def test_account_quota_bytes_and_count(cloud: RunningCloud, admin: Any, reseller: SwiftAccount) -> None:
    acct = new_account(cloud, admin)
    acct.swift.put_container("c")
    set_quota = acct.request("POST", token=reseller.token, headers={"X-Account-Meta-Quota-Bytes": "8"})
    assert set_quota.status_code == 204, set_quota.text
    head = acct.swift.head_account()
    assert head["x-account-quota-bytes"] == "8" and head["x-account-meta-quota-bytes"] == "8"
    assert not any(k.startswith("x-account-sysmeta") for k in head)
    assert acct.request("PUT", "/c/a", data=b"12345").status_code == 201
    over = acct.request("PUT", "/c/b", data=b"1234")
    assert over.status_code == 413 and over.text == "Upload exceeds quota."
    # The reseller is not capped; the owner sees the quota but cannot change it.
    assert acct.request("PUT", "/c/r", data=b"1234", token=reseller.token).status_code == 201
    assert acct.request("POST", headers={"X-Remove-Account-Quota-Bytes": "x"}).status_code == 403
    # The older header's removal takes both the quota and the metadata it was also stored as.
    assert acct.request("POST", token=reseller.token, headers={"X-Remove-Account-Meta-Quota-Bytes": "x",
                                                                "X-Account-Quota-Count": "2"}).status_code == 204
    head = acct.swift.head_account()
    assert "x-account-quota-bytes" not in head and "x-account-meta-quota-bytes" not in head
    assert head["x-account-quota-count"] == "2"
    assert acct.request("PUT", "/c/third", data=b"1").status_code == 413
    assert acct.request("PUT", "/c/a", data=b"1").status_code == 413  # count is checked per PUT, as Swift does
