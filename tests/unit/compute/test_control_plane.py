"""Unit checks of key fingerprints, extra spec validation and per-version quota resources."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from onestack.compute.service import extra_specs, keypairs, quotas
from onestack.core.api.faults import BadRequest


def _openssh(key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> str:
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def test_ssh_fingerprint_is_md5_of_blob() -> None:
    for private in (rsa.generate_private_key(public_exponent=65537, key_size=1024),
                    ec.generate_private_key(ec.SECP256R1())):
        pub = _openssh(private.public_key()) + " comment"
        blob = base64.b64decode(pub.split()[1])
        expected = ":".join(f"{b:02x}" for b in hashlib.md5(blob).digest())
        assert keypairs.ssh_fingerprint(pub) == expected


@pytest.mark.parametrize("bad", ["", "ssh-rsa", "ssh-rsa JUNK x", "ssh-rsa " + "A" * 2048, "not a key at all"])
def test_bad_ssh_keys_are_refused(bad: str) -> None:
    with pytest.raises(BadRequest):
        keypairs.ssh_fingerprint(bad)


def test_generated_keys_round_trip() -> None:
    ssh = keypairs.generate("ssh", "u1")
    assert ssh.public_key.startswith("ssh-rsa ") and len(keypairs.fingerprint(ssh.public_key, "ssh")) == 47
    cert = keypairs.generate("x509", "u1")
    assert len(keypairs.fingerprint(cert.public_key, "x509")) == 59
    with pytest.raises(BadRequest):
        keypairs.fingerprint("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----", "x509")


def test_extra_spec_validation() -> None:
    extra_specs.validate({"hw:cpu_policy": "dedicated", "hw:numa_nodes": "2", "foo:bar": "x", "plain": "y",
                          "trait:HW_CPU_X86_AVX2": "required", "resources:VGPU": "1", "quota:cpu_quota": "10",
                          "aggregate_instance_extra_specs:ssd": "true", "hw:numa_cpus.0": "0,1"})
    for bad in ({"hw:cpu_policy": "fast"}, {"hw:nope": "1"}, {"hw:numa_nodes": "0"}, {"trait:X": "maybe"},
                {"resources:VGPU": "-1"}, {"quota:unknown": "1"}):
        with pytest.raises(BadRequest):
            extra_specs.validate(bad)


def test_quota_resources_by_version() -> None:
    assert "floating_ips" in quotas.resources_for((2, 35)) and "floating_ips" not in quotas.resources_for((2, 36))
    assert "injected_files" in quotas.resources_for((2, 56)) and "injected_files" not in quotas.resources_for((2, 57))
    assert "server_groups" not in quotas.resources_for((2, 49), quota_class=True)
    assert "floating_ips" in quotas.resources_for((2, 49), quota_class=True)
    at_250 = quotas.resources_for((2, 50), quota_class=True)
    assert "server_groups" in at_250 and "floating_ips" not in at_250
