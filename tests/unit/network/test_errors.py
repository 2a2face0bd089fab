"""The errors package: one module per kind of resource, every type exported by ``onestack.network.errors``.

A client sees only the class name (the NeutronError ``type``), so two modules defining one name, or a
type left out of the package's re-exports, would be a silent change of what callers raise.
"""

from __future__ import annotations

import importlib
import pkgutil

from onestack.network import errors
from onestack.network.errors import NeutronError


def _defined() -> list[type[NeutronError]]:
    found: list[type[NeutronError]] = []
    for info in pkgutil.iter_modules(errors.__path__):
        module = importlib.import_module(f"{errors.__name__}.{info.name}")
        found += [obj for obj in vars(module).values()
                  if isinstance(obj, type) and issubclass(obj, NeutronError) and obj.__module__ == module.__name__]
    return found


def test_every_type_is_exported_once_under_its_name() -> None:
    defined = _defined()
    names = [cls.__name__ for cls in defined]
    assert len(defined) > 100
    assert sorted(names) == sorted(set(names)), "two error modules define the same type name"
    for cls in defined:
        assert getattr(errors, cls.__name__) is cls
        assert cls.__name__ in errors.__all__


def test_types_are_network_owned() -> None:
    # faults.neutron_error names an error by its class only if its module is under onestack.network.
    assert all(cls.__module__.startswith("onestack.network.") for cls in _defined())
