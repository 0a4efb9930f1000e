"""Data: generated 2-D toys (notebook 07) and images (notebook 08).

``dc.data.toys``: Gaussian mixtures, two moons, spirals as finite samples.
``dc.data.images``: scikit-learn's ``load_digits`` (ships with the package, no download) and a
loader for MNIST / Fashion-MNIST IDX files that the user supplies by path.
"""

import importlib

__all__ = ["toys", "images"]


def __getattr__(name):
    if name in __all__:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'diffcourse.data' has no attribute {name!r}")
