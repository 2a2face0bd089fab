"""Prefix set arithmetic of subnet pools (what Neutron does with netaddr.IPSet)."""

from __future__ import annotations

from onestack.network.service import prefix_sets as ps


def texts(nets: list[ps.Net]) -> list[str]:
    return ps.as_text(nets)


def test_compact_merges_overlaps_and_adjacent_halves() -> None:
    assert texts(ps.compact(["10.0.0.0/25", "10.0.0.128/25", "10.0.0.5/32"])) == ["10.0.0.0/24"]
    assert texts(ps.compact(["10.10.0.0/16", "10.2.0.0/16", "10.10.1.0/24"])) == ["10.2.0.0/16", "10.10.0.0/16"]
    assert texts(ps.compact(["10.0.0.5/24"])) == ["10.0.0.0/24"]  # host bits cleared
    assert texts(ps.compact(["2001:db8::/64", "10.0.0.0/8"])) == ["10.0.0.0/8", "2001:db8::/64"]


def test_difference_and_subset() -> None:
    assert texts(ps.difference(["10.0.0.0/24"], ["10.0.0.0/26"])) == ["10.0.0.64/26", "10.0.0.128/25"]
    assert texts(ps.difference(["10.0.0.0/24"], ["10.0.0.0/16"])) == []
    assert ps.is_subset(["10.0.0.0/25"], ["10.0.0.0/24"])
    assert not ps.is_subset(["10.0.0.0/23"], ["10.0.0.0/24"])
    assert ps.overlaps(["10.0.0.0/24"], ["10.0.0.128/30"])
    assert not ps.overlaps(["10.0.0.0/24"], ["10.0.1.0/24"])


def test_first_free_prefers_the_smallest_block_that_fits() -> None:
    pool = ["10.0.0.0/16"]
    # Free: the /24 between the taken ones, and larger blocks above: the /24 is used first.
    taken = ["10.0.0.0/24", "10.0.2.0/24"]
    assert str(ps.first_free(pool, taken, 24)) == "10.0.1.0/24"
    assert str(ps.first_free(pool, taken, 26)) == "10.0.1.0/26"
    assert str(ps.first_free(pool, [], 24)) == "10.0.0.0/24"
    assert ps.first_free(["10.0.0.0/24"], ["10.0.0.0/25", "10.0.0.128/25"], 28) is None
    assert ps.first_free(["10.0.0.0/24"], [], 16) is None


def test_fits_only_inside_one_free_block() -> None:
    pool, taken = ["10.0.0.0/24"], ["10.0.0.64/26"]
    assert ps.fits(pool, taken, ps.network("10.0.0.0/26"))
    assert ps.fits(pool, taken, ps.network("10.0.0.128/25"))
    assert not ps.fits(pool, taken, ps.network("10.0.0.0/25"))
    assert not ps.fits(pool, taken, ps.network("10.1.0.0/26"))
    assert not ps.fits(pool, taken, ps.network("2001:db8::/64"))
