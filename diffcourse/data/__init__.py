"""Data: generated 2-D toys (notebook 07) and images (notebook 08).

``dc.data.toys``: Gaussian mixtures, two moons, spirals as finite samples.
``dc.data.images``: scikit-learn's ``load_digits`` (ships with the package, no download) and a
loader for MNIST / Fashion-MNIST IDX files that the user supplies by path.
"""

from diffcourse import _lazy

__all__ = ["toys", "images"]


_lazy.attach(globals(), __all__)
