"""The image DDPM glue: exact parameterisation conversions, the losses' scale, checkpoints, and the
shipped model's sample quality (fixed key) against the held-out real digits."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import perturb

import diffcourse as dc
from diffcourse import ddpm

SMALL = {"channels": 8, "groups": 4}


@functools.cache
def _small(param="edm"):
    """One small model per parameterisation, built once for the whole file (building compiles)."""
    return ddpm.build(jax.random.key(0), model=SMALL, loss={"param": param})


@eqx.filter_jit
def _predictions(model, x_t, ab):
    """The four readings of one network at one point, in one compiled call."""
    t = (1 - ab) / ab
    z = x_t / jnp.sqrt(ab)
    return model(z, t), ddpm.eps(model, x_t, ab), ddpm.x0(model, x_t, ab), ddpm.score(model, z, t)


_perturbed = perturb


@pytest.mark.parametrize("param", ["edm", "eps"])
def test_eps_x0_score_convert_exactly(param):
    """eps-, x0- and score-predictions are one function seen three ways (MCALLESTER.md §2)."""
    model = _perturbed(_small(param), jax.random.key(1))
    ab = 0.37
    t = (1 - ab) / ab
    x_t = jax.random.normal(jax.random.key(2), (8, 8, 1))
    z = x_t / np.sqrt(ab)
    yhat, eps_hat, x0_hat, score_hat = _predictions(model, x_t, jnp.asarray(ab))
    # x_t = sqrt(ab) x0 + sqrt(1-ab) eps, exactly (Ho et al. eq. 4 with the predictions)
    np.testing.assert_allclose(np.sqrt(ab) * x0_hat + np.sqrt(1 - ab) * eps_hat, x_t, atol=1e-12)
    np.testing.assert_allclose(x0_hat, yhat, atol=1e-12)
    # score = (yhat - z)/t = -eps/sqrt(t)  (M4 and the bridge)
    np.testing.assert_allclose(score_hat, -eps_hat / np.sqrt(t), atol=1e-12)
    np.testing.assert_allclose(dc.schedules.score_to_denoiser(score_hat, z, t), yhat, atol=1e-12)


def test_edm_preconditioning_limits():
    """A fresh net (F = 0) gives D = c_skip z: the identity as t -> 0, the data mean 0 as t -> inf."""
    model = _small("edm")
    apply = eqx.filter_jit(lambda m, z, t: m(z, t))
    z = jax.random.normal(jax.random.key(1), (8, 8, 1))
    np.testing.assert_allclose(apply(model, z, jnp.asarray(1e-10)), z, atol=1e-8)
    np.testing.assert_allclose(
        apply(model, z, jnp.asarray(0.25)), z * 0.25 / (0.25 + 0.25), atol=1e-12
    )
    assert float(jnp.abs(apply(model, z, jnp.asarray(1e8))).max()) < 1e-7


@pytest.mark.parametrize("param", ["edm", "eps"])
def test_loss_has_unit_scale_at_initialisation(param):
    """With F = 0: the EDM loss is [sigma^2 E y^2 + s^4]/(s^2 (sigma^2 + s^2)) = 1 at every sigma when
    E y^2 = s^2 (Karras et al.'s unit-variance target); the eps loss is E|eps|^2/dim = 1."""
    model = _small(param)
    y = 0.5 * jax.random.normal(jax.random.key(1), (2000, 8, 8, 1))
    loss_fn = eqx.filter_jit(ddpm.make_loss(model, {"param": param}))
    value = float(loss_fn(model, jax.random.key(2), y))
    assert value == pytest.approx(1.0, abs=0.03)


def test_save_load_round_trip_and_corrupt_file(tmp_path):
    model = _perturbed(_small("edm"), jax.random.key(1))
    meta = ddpm.meta_for((8, 8, 1), SMALL)
    path = ddpm.save(tmp_path / "model.ckpt", model, meta)
    loaded, meta2 = ddpm.load(tmp_path)
    assert meta2 == meta
    for a, b in zip(jax.tree.leaves(loaded), jax.tree.leaves(model), strict=True):
        np.testing.assert_array_equal(a, b)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        ddpm.load(path)
    with pytest.raises(ValueError, match="param must be"):
        ddpm.build(jax.random.key(0), loss={"param": "v"})
    with pytest.raises(ValueError, match="sampler must be"):
        ddpm.sample(jax.random.key(0), model, 2, sampler="euler", image_shape=(8, 8, 1))


def test_shipped_checkpoint_quality():
    """297 samples (the held-out split's size, so both FDs carry the same finite-sample
    bias), DDIM 25 steps, key 1. Thresholds from the issue: confidence >= 0.9, class entropy
    >= 2.2 nats, FD <= 2 x the held-out real split's."""
    model, meta = ddpm.load()
    assert meta["image_shape"] == [8, 8, 1] and meta["step"] == 1000
    x = ddpm.sample(jax.random.key(1), model, 297, sampler="ddim", steps=25, image_shape=(8, 8, 1))
    x = np.asarray(x)[..., 0]
    got, ref = dc.metrics.evaluate(x), dc.metrics.heldout_reference()
    print(
        f"shipped model: confidence {got['confidence']:.3f} (held-out {ref['confidence']:.3f}), "
        f"class entropy {got['class_entropy']:.3f} nats (held-out {ref['class_entropy']:.3f}), "
        f"FD {got['fd']:.2f} (held-out {ref['fd']:.2f}, ratio {got['fd'] / ref['fd']:.2f}), "
        f"median NN distance {got['nn_median']:.2f} (held-out {ref['nn_median']:.2f})"
    )
    assert got["confidence"] >= 0.9
    assert got["class_entropy"] >= 2.2
    assert got["fd"] <= 2.0 * ref["fd"]
    assert got["nn_min"] > 0.3  # no sample is a copy of a training image
