"""Lazy submodules: ``pkg.name`` imports ``pkg/name.py`` on first use (PEP 562)."""

import importlib


def submodules(package: str, names):
    """A module-level ``__getattr__`` for ``package`` that imports the submodules in ``names``.

    ``importlib.import_module`` binds the submodule as an attribute of the package, so each is
    imported once.
    """
    names = frozenset(names)

    def __getattr__(name):
        if name in names:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
