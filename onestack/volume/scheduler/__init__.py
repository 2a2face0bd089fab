"""The volume scheduler: Cinder's filter scheduler over the pools the volume agents report.

``pool_state.py`` turns ``volume_pools`` rows of live, enabled services into ``PoolState``;
``filters/`` and ``weighers/`` hold one class each (named in configuration, ``registry.py``);
``select.py`` is the pure choice; ``manager.py`` serves ``VolumeSchedulerAPI`` with the
database; ``worker.py`` runs it (heartbeat, re-scheduling of lost requests).
"""
