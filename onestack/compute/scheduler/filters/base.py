"""The filter interface: one class per filter, one method, one file."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.request import RequestSpec


@runtime_checkable
class HostFilter(Protocol):
    # True when the answer cannot change between the instances of one multi-instance request
    # (it depends on nothing the scheduler consumes), so select.py runs it once per request.
    run_filter_once_per_request: bool  # a class attribute in every filter

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        """True when the host can take one more instance of ``spec``."""
        ...
