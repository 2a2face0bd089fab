"""The compute scheduler: Nova's filter scheduler as pure functions over a host snapshot.

host_state.HostState and request.RequestSpec are the inputs; filters/ and weighers/ hold one
class per file; registry.py resolves configured names; select.py makes the decision.
"""

from onestack.compute.scheduler.host_state import Aggregate, HostState
from onestack.compute.scheduler.request import Flavor, InstanceGroup, RequestSpec
from onestack.compute.scheduler.select import (
    NoValidHost,
    Selection,
    select_destinations,
    select_with_alternates,
)

__all__ = ["Aggregate", "Flavor", "HostState", "InstanceGroup", "NoValidHost", "RequestSpec",
           "Selection", "select_destinations", "select_with_alternates"]
