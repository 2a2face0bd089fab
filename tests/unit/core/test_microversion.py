"""Microversion negotiation: header forms, latest, range checks and response headers."""

from __future__ import annotations

import pytest

from onestack.core.api.faults import BadRequest, NotAcceptable
from onestack.core.api.microversion import MicroversionPolicy, Version
from tests.unit.core.requests import make_request

NOVA = MicroversionPolicy("compute", Version(2, 1), Version(2, 96), legacy_header="X-OpenStack-Nova-API-Version")
CINDER = MicroversionPolicy("volume", Version(3, 0), Version(3, 70))


def negotiate(policy: MicroversionPolicy, **headers: str) -> Version:
    return policy.negotiate(make_request(headers={k.replace("_", "-"): v for k, v in headers.items()}))


def test_no_header_means_minimum() -> None:
    assert negotiate(NOVA) == Version(2, 1)
    assert negotiate(CINDER) == Version(3, 0)


@pytest.mark.parametrize(("value", "expected"), [
    ("compute 2.53", Version(2, 53)),
    ("COMPUTE 2.53", Version(2, 53)),
    ("compute   2.10 ", Version(2, 10)),
    ("compute latest", Version(2, 96)),
    ("compute LATEST", Version(2, 96)),
    ("volume 3.5, compute 2.7", Version(2, 7)),
    ("volume 3.5", Version(2, 1)),  # another service's version is ignored
    ("compute 2.96", Version(2, 96)),
    ("compute 2.1", Version(2, 1)),
])
def test_openstack_api_version_header(value: str, expected: Version) -> None:
    assert negotiate(NOVA, OpenStack_API_Version=value) == expected


def test_repeated_headers_are_all_read() -> None:
    request = make_request(extra_headers=[("OpenStack-API-Version", "volume 3.5"),
                                          ("OpenStack-API-Version", "compute 2.20")])
    assert NOVA.negotiate(request) == Version(2, 20)


def test_legacy_header() -> None:
    assert negotiate(NOVA, X_OpenStack_Nova_API_Version="2.11") == Version(2, 11)
    assert negotiate(NOVA, X_OpenStack_Nova_API_Version="latest") == Version(2, 96)
    # The new header wins when both are sent.
    assert negotiate(NOVA, X_OpenStack_Nova_API_Version="2.11", OpenStack_API_Version="compute 2.12") == Version(2, 12)


@pytest.mark.parametrize("value", ["compute 2.0", "compute 2.97", "compute 3.1", "compute 1.99"])
def test_out_of_range_is_406(value: str) -> None:
    with pytest.raises(NotAcceptable) as info:
        negotiate(NOVA, OpenStack_API_Version=value)
    assert info.value.status == 406
    assert "Minimum is 2.1 and maximum is 2.96" in info.value.message


@pytest.mark.parametrize("value", ["compute 2", "compute 2.x", "compute abc", "compute 2.05", "compute 02.1",
                                   "compute -2.1", "compute 2.1.1"])
def test_invalid_version_is_400(value: str) -> None:
    with pytest.raises(BadRequest) as info:
        negotiate(NOVA, OpenStack_API_Version=value)
    assert info.value.status == 400


def test_invalid_legacy_version_is_400() -> None:
    with pytest.raises(BadRequest):
        negotiate(NOVA, X_OpenStack_Nova_API_Version="two")


def test_versions_order_numerically() -> None:
    assert Version(2, 9) < Version(2, 10) < Version(3, 0)
    assert str(Version.parse("2.10")) == "2.10"


def test_response_headers_echo_and_vary() -> None:
    headers = NOVA.response_headers(Version(2, 53))
    assert headers["OpenStack-API-Version"] == "compute 2.53"
    assert headers["X-OpenStack-Nova-API-Version"] == "2.53"
    vary = [v.strip() for v in headers["Vary"].split(",")]
    assert vary == ["OpenStack-API-Version", "X-OpenStack-Nova-API-Version"]
    assert CINDER.response_headers(Version(3, 7)) == {"OpenStack-API-Version": "volume 3.7",
                                                      "Vary": "OpenStack-API-Version"}
