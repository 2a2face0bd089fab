from __future__ import annotations

from onestack.volume.scheduler.filters.capabilities import CapabilitiesFilter
from tests.unit.volume.scheduler.helpers import pool, request

F = CapabilitiesFilter()
P = pool("h1@lvm#lvm", capabilities={"volume_backend_name": "lvm", "storage_protocol": "iSCSI",
                                     "vendor_name": "Open Source", "multiattach": True,
                                     "QoS_support": False, "driver_version": "1.2",
                                     "nested": {"speed": "10"}, "compression": ["true", "false"]})


def ok(**specs: str) -> bool:
    return F.backend_passes(P, request(extra_specs=specs))


def test_no_specs_pass() -> None:
    assert ok()


def test_plain_value_is_string_equality() -> None:
    assert ok(volume_backend_name="lvm", storage_protocol="iSCSI")
    assert not ok(volume_backend_name="other")


def test_capabilities_scope_is_the_same_key() -> None:
    assert F.backend_passes(P, request(extra_specs={"capabilities:vendor_name": "Open Source"}))
    assert not F.backend_passes(P, request(extra_specs={"capabilities:vendor_name": "Acme"}))
    assert F.backend_passes(P, request(extra_specs={"capabilities:nested:speed": ">= 5"}))


def test_other_scopes_are_ignored() -> None:
    assert F.backend_passes(P, request(extra_specs={"provisioning:type": "thick", "RESKEY:x": "y",
                                                    "vendor:thing": "whatever"}))


def test_unreported_capability_fails() -> None:
    assert not ok(replication_enabled="<is> True")
    assert not F.backend_passes(P, request(extra_specs={"capabilities:nope": "1"}))


def test_is_operator_compares_booleans() -> None:
    assert ok(multiattach="<is> True")
    assert not ok(multiattach="<is> False")
    assert ok(QoS_support="<is> False")


def test_numeric_and_set_operators() -> None:
    assert ok(driver_version=">= 1.0")
    assert not ok(driver_version="<= 1.0")
    assert ok(storage_protocol="<in> iSC")
    assert ok(storage_protocol="<or> FC <or> iSCSI")
    assert not ok(storage_protocol="<or> FC <or> NFS")
    assert ok(volume_backend_name="s== lvm")


def test_list_capability_matches_any_element() -> None:
    assert ok(compression="<is> False")
    assert ok(compression="<is> True")


def test_pool_properties_are_capabilities_too() -> None:
    assert ok(thin_provisioning_support="<is> True")
    assert ok(pool_name="lvm")
