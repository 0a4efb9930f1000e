"""Lazy submodules, the package's one import mechanism: ``pkg.name`` imports ``pkg/name.py`` on
first use (PEP 562), and ``dir(pkg)`` (tab completion) lists the submodules before they are imported.

Why lazy at all: ``python -m diffcourse`` checks every argument before jax is imported, so a
mistake is answered in a fraction of a second; that needs ``import diffcourse`` to import nothing
heavy. A notebook pays only for the modules it touches.
"""

import importlib


def attach(module_globals: dict, names) -> None:
    """Give the package whose ``globals()`` is ``module_globals`` a ``__getattr__`` that imports
    the submodules in ``names`` on first use, and a ``__dir__`` that lists them.

    ``importlib.import_module`` binds the submodule as an attribute of the package, so each is
    imported once.
    """
    package, names = module_globals["__name__"], frozenset(names)

    def __getattr__(name):
        if name in names:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(module_globals) | names)

    module_globals["__getattr__"] = __getattr__
    module_globals["__dir__"] = __dir__
