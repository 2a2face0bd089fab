"""Port forwarding port ranges: N-N or 1-N, within 1..65535, and when two ranges collide."""

from __future__ import annotations

import pytest

from onestack.network.errors import BadRequest
from onestack.network.service.port_forwardings import _check_ranges, _collides, _span


def test_spans() -> None:
    assert _span(22, None) == (22, 22)
    assert _span(None, "100:110") == (100, 110)
    assert _span(None, "80") == (80, 80)
    assert _span(None, None) is None


@pytest.mark.parametrize(("internal", "external"), [((22, 22), (2222, 2222)), ((80, 80), (8000, 8010)),
                                                    ((100, 110), (200, 210))])
def test_ranges_allowed(internal: tuple[int, int], external: tuple[int, int]) -> None:
    _check_ranges(internal, external)


@pytest.mark.parametrize(("internal", "external"), [((100, 105), (200, 210)), ((0, 0), (1, 1)),
                                                    ((1, 1), (65536, 65536)), ((10, 5), (10, 5))])
def test_ranges_refused(internal: tuple[int, int], external: tuple[int, int]) -> None:
    with pytest.raises(BadRequest):
        _check_ranges(internal, external)


def test_collisions() -> None:
    assert _collides((80, 80), (80, 80)) and _collides((75, 85), (80, 90))
    assert not _collides((80, 80), (81, 90))
