"""The volume agent serves VolumeAgentAPI with exactly the arguments a message carries: the routing
argument (``host``) picks the topic and is not sent, so an endpoint requiring it fails every cast."""

from __future__ import annotations

import inspect

from onestack.volume.agent.host import VolumeAgent
from onestack.volume.rpcapi import VolumeAgentAPI


def test_every_endpoint_takes_what_is_sent_and_nothing_more() -> None:
    for name, spec in VolumeAgentAPI.methods().items():
        sent = [p for p in spec.signature.parameters if p not in ("self", VolumeAgentAPI.route_by)]
        params = inspect.signature(getattr(VolumeAgent, name)).parameters
        required = [p.name for p in params.values()
                    if p.name != "self" and p.default is inspect.Parameter.empty
                    and p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)]
        assert set(required) <= set(sent), f"{name} requires {set(required) - set(sent)}, which is never sent"
        assert set(sent) <= set(params), f"{name} does not take {set(sent) - set(params)}"
