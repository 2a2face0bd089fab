"""The pieces of ``tools/conformance``: run Tempest against a onestack and report the results.

Modules: ``tempest_conf`` (writes tempest.conf), ``venv`` (the cached Tempest virtualenv),
``cloud`` (start or attach to a onestack), ``results`` (parsed test outcomes), ``report``
(docs/conformance.md and the failure list), ``runner`` (one Tempest pass), ``cli``.
``subunit_dump`` runs inside the Tempest virtualenv and imports nothing from onestack.
"""

TEMPEST_VERSION = "47.0.0"
