"""2-D toy data (diffcourse.data.toys): shapes, geometry, moments, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from diffcourse.data import toys

KEY = jax.random.PRNGKey(0)


@pytest.mark.parametrize("make", [toys.gaussian_mixture8, toys.two_moons, toys.spirals])
def test_shape_and_reproducibility(make):
    y = make(KEY, 300)
    assert y.shape == (300, 2) and np.all(np.isfinite(y))
    np.testing.assert_array_equal(y, make(KEY, 300))
    assert not np.allclose(y, make(jax.random.PRNGKey(1), 300))


def test_ring_mixture_geometry_and_moments():
    """Means on the circle of radius r; sample mean 0 and variance r^2/2 + std^2 (4 SE)."""
    pop = toys.ring_mixture(8, radius=2.0, std=0.2)
    np.testing.assert_allclose(np.linalg.norm(pop.means, axis=1), 2.0, rtol=1e-12)
    angles = np.sort(np.mod(np.arctan2(pop.means[:, 1], pop.means[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(np.diff(angles), 2 * np.pi / 8, rtol=1e-12)
    y = np.asarray(toys.gaussian_mixture8(KEY, 20000))
    n = len(y)
    assert np.all(np.abs(y.mean(0)) < 4 * y.std(0) / np.sqrt(n))
    var = (y - 0) ** 2
    assert np.all(np.abs(var.mean(0) - (2.0**2 / 2 + 0.2**2)) < 4 * var.std(0) / np.sqrt(n))


def test_ring_mixture_component_weights():
    """Nearest-mean counts follow unequal weights (chi-square p > 1e-3)."""
    w = np.tile([2.0, 1.0], 4) / 12
    pop = toys.ring_mixture(8, radius=2.0, std=0.2, weights=jnp.asarray(w))
    y = np.asarray(toys.gaussian_mixture8(KEY, 6000, weights=jnp.asarray(w)))
    k = np.argmin(((y[:, None, :] - np.asarray(pop.means)) ** 2).sum(-1), axis=1)
    counts = np.bincount(k, minlength=8)
    assert stats.chisquare(counts, w * len(y)).pvalue > 1e-3
    assert stats.chisquare(counts, np.full(8, len(y) / 8)).pvalue < 1e-6  # not uniform


def test_two_moons_lie_on_the_moons():
    y = np.asarray(toys.two_moons(KEY, 4000, noise=0.0)) + np.array([0.5, 0.25])
    upper = np.abs(np.linalg.norm(y, axis=1) - 1) < 1e-5
    lower = np.abs(np.linalg.norm(y - np.array([1.0, 0.5]), axis=1) - 1) < 1e-5
    assert np.all(upper | lower)
    assert np.all(y[upper & ~lower, 1] >= -1e-6) and np.all(y[lower & ~upper, 1] <= 0.5 + 1e-6)
    assert stats.binomtest(int(upper.sum()), len(y), 0.5).pvalue > 1e-3


def test_spirals_follow_the_arms():
    """Noise 0: the angle is 2 pi turns rho/radius (+ pi on the second arm), mod 2 pi."""
    turns, radius = 1.5, 2.0
    y = np.asarray(toys.spirals(KEY, 2000, turns=turns, radius=radius, noise=0.0))
    rho = np.linalg.norm(y, axis=1)
    assert rho.max() <= radius + 1e-6
    phase = np.mod(np.arctan2(y[:, 1], y[:, 0]) - 2 * np.pi * turns * rho / radius, 2 * np.pi)
    on_arm = np.minimum(np.abs(phase), np.abs(phase - np.pi))
    on_arm = np.minimum(on_arm, np.abs(phase - 2 * np.pi))
    assert np.all(on_arm[rho > 1e-3] < 1e-4)
    # sqrt(u) radius: rho/radius is distributed like sqrt(U), i.e. (rho/radius)^2 ~ U(0, 1)
    assert stats.kstest((rho / radius) ** 2, "uniform").pvalue > 1e-3


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="n must be a positive integer"):
        toys.two_moons(KEY, 0)
    with pytest.raises(ValueError, match="std must be positive"):
        toys.ring_mixture(std=0.0)
    with pytest.raises(ValueError, match="radius must be positive"):
        toys.gaussian_mixture8(KEY, 10, radius=-1.0)
    with pytest.raises(ValueError, match="noise must be non-negative"):
        toys.spirals(KEY, 10, noise=-0.1)
    with pytest.raises(ValueError, match="weights must sum to 1"):
        toys.ring_mixture(weights=jnp.ones(8))
