"""Generated MACs keep network.base_mac's prefix (three octets, four when the fourth is set)."""

from __future__ import annotations

from onestack.network.service import macs


def test_random_mac_prefix() -> None:
    found = {macs.random_mac("fa:16:3e:00:00:00") for _ in range(50)}
    assert all(m.startswith("fa:16:3e:") and len(m) == 17 for m in found)
    assert len(found) > 40  # random, not a counter
    assert all(m.startswith("fa:16:3e:4f:") for m in (macs.random_mac("fa:16:3e:4f:00:00") for _ in range(10)))
