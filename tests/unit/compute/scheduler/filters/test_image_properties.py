from __future__ import annotations

from onestack.compute.scheduler.filters.image_properties import (
    ImagePropertiesFilter,
    version_to_int,
)
from tests.unit.compute.scheduler.helpers import host, spec

F = ImagePropertiesFilter()
KVM = host(supported_instances=[("x86_64", "kvm", "hvm"), ("i686", "kvm", "hvm")],
           hypervisor_version=version_to_int("8.2.0"))
ARM = host("arm", supported_instances=[("aarch64", "qemu", "hvm")])


def test_image_without_properties_passes_any_host() -> None:
    assert F.host_passes(host(), spec())
    assert F.host_passes(host(), spec(image_properties={"hw_disk_bus": "virtio"}))


def test_architecture_hypervisor_and_mode() -> None:
    assert F.host_passes(KVM, spec(image_properties={"hw_architecture": "x86_64"}))
    assert F.host_passes(KVM, spec(image_properties={"architecture": "amd64"}))  # alias
    assert not F.host_passes(ARM, spec(image_properties={"hw_architecture": "x86_64"}))
    assert F.host_passes(KVM, spec(image_properties={"img_hv_type": "kvm", "hw_vm_mode": "hvm"}))
    assert not F.host_passes(KVM, spec(image_properties={"img_hv_type": "xen"}))
    assert not F.host_passes(KVM, spec(image_properties={"hw_vm_mode": "xen"}))
    # all named properties must hold for one and the same triple
    assert not F.host_passes(KVM, spec(image_properties={"hw_architecture": "aarch64",
                                                         "img_hv_type": "kvm"}))


def test_host_reporting_nothing_fails_a_constrained_image() -> None:
    assert not F.host_passes(host(), spec(image_properties={"hw_architecture": "x86_64"}))


def test_requested_hypervisor_version() -> None:
    props = {"img_hv_type": "kvm"}
    assert F.host_passes(KVM, spec(image_properties=props | {"img_hv_requested_version": ">= 6.0"}))
    assert not F.host_passes(KVM, spec(image_properties=props | {"img_hv_requested_version": ">= 9"}))
    assert F.host_passes(KVM, spec(image_properties=props | {"img_hv_requested_version": "<= 8.2"}))
    assert not F.host_passes(KVM, spec(image_properties=props | {"img_hv_requested_version": "<= 7"}))
    assert F.host_passes(KVM, spec(image_properties=props | {"img_hv_requested_version": "8.2.0"}))
    assert version_to_int("6.2.1") == 6002001
