"""The image DDPM glue: exact parameterisation conversions, the loss's scale on the real digits,
the training range and the grid, checkpoints, and the shipped model's sample quality."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import perturb

import diffcourse as dc
from diffcourse import ddpm
from diffcourse.nets import precond

SMALL = ddpm.Arch(channels=8, groups=4)


@functools.cache
def _small(kind="edm", sigma_data=0.5):
    """One small model per parameterisation, built once for the whole file."""
    return ddpm.build(
        jax.random.key(0), (8, 8, 1), SMALL, ddpm.Loss(kind=kind, sigma_data=sigma_data)
    )


@eqx.filter_jit
def _predictions(model, x_t, ab):
    """The three readings of one network at one point, in one compiled call."""
    t = (1 - ab) / ab
    z = x_t / jnp.sqrt(ab)
    return model(z, t), ddpm.eps(model, x_t, ab), ddpm.x0(model, x_t, ab)


@pytest.mark.parametrize("kind", ["edm", "eps"])
def test_eps_x0_score_convert_exactly(kind):
    """eps-, x0- and score-predictions are one function seen three ways (the bridge)."""
    model = perturb(_small(kind), jax.random.key(1))
    ab = 0.37
    t = (1 - ab) / ab
    x_t = jax.random.normal(jax.random.key(2), (8, 8, 1))
    z = x_t / np.sqrt(ab)
    yhat, eps_hat, x0_hat = _predictions(model, x_t, jnp.asarray(ab))
    # x_t = sqrt(ab) x0 + sqrt(1-ab) eps, exactly (Ho et al. eq. 4 with the predictions)
    np.testing.assert_allclose(np.sqrt(ab) * x0_hat + np.sqrt(1 - ab) * eps_hat, x_t, atol=1e-12)
    np.testing.assert_allclose(x0_hat, yhat, atol=1e-12)
    score_hat = dc.schedules.denoiser_to_score(yhat, z, t)
    np.testing.assert_allclose(score_hat, -eps_hat / np.sqrt(t), atol=1e-12)


def test_edm_preconditioning_limits():
    """A fresh net (F = 0) gives D = c_skip z: the identity as t -> 0, 0 as t -> inf."""
    model = _small("edm")
    apply = eqx.filter_jit(lambda m, z, t: m(z, t))
    z = jax.random.normal(jax.random.key(1), (8, 8, 1))
    np.testing.assert_allclose(apply(model, z, jnp.asarray(1e-10)), z, atol=1e-8)
    np.testing.assert_allclose(
        apply(model, z, jnp.asarray(0.25)), z * 0.25 / (0.25 + 0.25), atol=1e-12
    )
    assert float(jnp.abs(apply(model, z, jnp.asarray(1e8))).max()) < 1e-7


def test_sigma_data_is_the_digits_rms_and_gives_unit_loss():
    """sigma_d = sqrt(E y^2) of the digits in [-1, 1] is 0.845 (mean -0.39, std 0.75). With it a
    fresh net's EDM loss on the real digits is 1 (to Monte Carlo error); with EDM's 0.5 for centred
    data it is not (measured 1.6): the statistic matters."""
    images, _ = dc.data.images.load_digits("train")
    y = np.asarray(images, np.float32)[..., None]
    assert abs(y.mean() + 0.39) < 0.01 and abs(y.std() - 0.75) < 0.01
    sd = precond.sigma_data(y)
    assert sd == pytest.approx(np.sqrt(np.mean(y.astype(np.float64) ** 2)), rel=1e-12)
    assert abs(sd - 0.845) < 0.005
    values = {}
    for s in (sd, 0.5):
        loss = ddpm.Loss(sigma_data=s)
        model = ddpm.build(jax.random.key(0), (8, 8, 1), SMALL, loss)
        f = eqx.filter_jit(loss.loss_fn())
        values[s] = np.mean([float(f(model, jax.random.key(k), jnp.asarray(y))) for k in range(4)])
    assert values[sd] == pytest.approx(1.0, abs=0.05), values
    assert abs(values[0.5] - 1.0) > 0.3, values


def test_eps_loss_has_unit_scale():
    """The eps loss of a fresh net (F = 0, so eps_hat = 0) is E|eps|^2/dim = 1."""
    model = _small("eps", 1.0)
    y = 0.5 * jax.random.normal(jax.random.key(1), (2000, 8, 8, 1))
    value = float(
        eqx.filter_jit(ddpm.Loss(kind="eps", sigma_data=1.0).loss_fn())(model, jax.random.key(2), y)
    )
    assert value == pytest.approx(1.0, abs=0.03)


def test_training_range_and_the_clipped_grid():
    """The model records the 0.1%-99.9% range of its training times; DDIM's grid on the cosine
    schedule (which reaches t = 4e8) is clipped to it and starts at its top; strict refuses."""
    model = _small("edm")
    lo, hi = model.t_range
    np.testing.assert_allclose([lo, hi], np.exp(-2.4 + np.array([-1, 1]) * 3.0902 * 2.4), rtol=1e-4)
    full = dc.samplers.ddpm_grid(ddpm.schedule("cosine"), 50)
    assert full[0] > 1e8
    ts, note = ddpm.grid(model, "ddim", 50)
    assert ts[0] <= hi and ts[0] > 0.5 * hi and ts[-1] == 0 and ts.shape == (51,)
    assert "training range" in note and "4.12e+08" in note
    ts, note = ddpm.grid(model, "ode", 18)
    assert ts[0] == pytest.approx(hi) and ts[-2] == pytest.approx(lo) and "training range" in note
    with pytest.raises(ValueError, match="training range"):
        ddpm.grid(model, "ode", 18, strict=True)


def test_sample_shapes_path_and_bad_input():
    model = perturb(_small("edm"), jax.random.key(1), 0.01)
    x = ddpm.sample(jax.random.key(0), model, 3, setting="ddim", steps=4)
    assert x.shape == (3, 8, 8, 1) and bool(jnp.all(jnp.isfinite(x)))
    path = ddpm.sample(jax.random.key(0), model, 3, setting="ddim", steps=4, return_path=True)
    assert path.shape == (5, 3, 8, 8, 1)
    np.testing.assert_allclose(path[-1], x, atol=1e-6)
    # the path is on the DDPM scale: its start has unit variance per pixel, not t_0
    assert 0.5 < float(path[0].std()) < 1.5
    with pytest.raises(ValueError, match="setting must be one of"):
        ddpm.sample(jax.random.key(0), model, 2, setting="euler")
    with pytest.raises(ValueError, match="training range"):
        ddpm.sample(jax.random.key(0), model, 2, setting="ddim", steps=4, strict=True)
    with pytest.raises(ValueError, match="has lam = 0.0"):
        ddpm.sample(jax.random.key(0), model, 2, setting="ddim", lam=0.5)
    with pytest.raises(ValueError, match="n must be"):
        ddpm.sample(jax.random.key(0), model, 0)
    with pytest.raises(ValueError, match="denoiser is unconditional"):
        ddpm.sample(jax.random.key(0), model, 2, c=jnp.zeros(2, int))
    with pytest.raises(ValueError, match="kind must be"):
        ddpm.Loss(kind="v")
    with pytest.raises(ValueError, match="groups must divide"):
        ddpm.Arch(channels=8, groups=3)


def test_save_load_round_trip_and_corrupt_file(tmp_path):
    model = perturb(_small("edm"), jax.random.key(1))
    meta = ddpm.meta_for((8, 8, 1), SMALL, ddpm.Loss(sigma_data=0.5))
    path = ddpm.save(tmp_path / "model.ckpt", model, meta)
    loaded, meta2 = ddpm.load(tmp_path)
    assert meta2 == meta and loaded.t_range == model.t_range and loaded.shape == (8, 8, 1)
    for a, b in zip(jax.tree.leaves(loaded), jax.tree.leaves(model), strict=True):
        np.testing.assert_array_equal(a, b)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError):
        ddpm.load(path)


def test_shipped_checkpoint_quality_and_the_bar_fails_the_pixel_gaussian(float32):
    """Notebook 08's quality bar, in float32 as a user samples, on 297 samples (the held-out
    split's size, so both FDs carry the same finite-sample bias): the mean FD over 12 seeds <= 1.2
    x the held-out real digits' FD, with DDPM's ancestral step (the best sampler at 50 network
    calls in benchmarks/recipe_sweep.py, which notebook 08 uses) at 25 calls, which notebook 08's
    stored curve scores as 50 (6.6 and 6.6) in half this test's time. At 297 samples one
    seed's FD has an SD of about 2, as large as the margin, so one seed (or three) decides
    nothing: measured 6.86, standard error 0.55, against a bar of 8.11 (DDPM at 50 calls 7.00, SE
    0.58; DDIM 25 steps 7.68, SE 0.67). Also confidence >= 0.95 (held-out 0.99), class entropy
    >= 2.2 nats, and a calibrated memorised fraction below 0.1 on every seed (held-out digits
    score 0.05 by construction). The bar has power: the full-covariance pixel Gaussian fails it on
    every one of 3 seeds (FD measured 11.3-12.5, confidence 0.89)."""
    train, held = dc.data.images.load_digits("train")[0], dc.data.images.load_digits("heldout")[0]
    ref = dc.metrics.heldout_reference()
    bar = 1.2 * ref["fd"]
    for seed in range(3):
        gauss = dc.metrics.evaluate(dc.metrics.gaussian_baseline(train, 297, seed))
        assert gauss["fd"] > bar and gauss["confidence"] < 0.95, gauss
    model, meta = ddpm.load()
    assert meta["image_shape"] == [8, 8, 1]
    memorised = []

    def make(seed):
        x = ddpm.sample(jax.random.key(seed), model, 297, setting="ddim-eta", lam=1.0, steps=25)
        x = np.asarray(x)[..., 0]
        memorised.append(dc.metrics.memorised_fraction(x, train, held))
        return x

    got = dc.metrics.scores_by_seed(make, seeds=tuple(range(12)))
    fd = np.mean(got["fd"])
    se = np.std(got["fd"], ddof=1) / np.sqrt(12)
    print(
        f"shipped model, 12 seeds: FD {fd:.2f} (SE {se:.2f}; held-out {ref['fd']:.2f}, bar "
        f"{bar:.2f}), confidence {np.mean(got['confidence']):.3f} (held-out "
        f"{ref['confidence']:.3f}), class entropy {np.mean(got['class_entropy']):.3f} nats, "
        f"memorised fraction {np.mean(memorised):.3f}"
    )
    assert fd <= bar
    assert np.mean(got["confidence"]) >= 0.95
    assert np.mean(got["class_entropy"]) >= 2.2
    assert max(memorised) < 0.1


class _CountedGaussian:
    """The exact denoiser of a Gaussian population N(mu, v I) of 8x8 images, mu + v/(v+t) (z - mu),
    dressed as a trained model (shape, training range, data scale), counting its evaluations."""

    shape, t_range, sigma_data = (8, 8, 1), (1e-3, 150.0), 0.7

    def __init__(self):
        self.calls = 0
        self.mu = jnp.linspace(-0.5, 0.5, 64).reshape(8, 8, 1)

    def _count(self):
        self.calls += 1

    def __call__(self, z, t):
        jax.debug.callback(self._count)
        v = self.sigma_data**2
        return self.mu + v / (v + t) * (z - self.mu)


@pytest.mark.parametrize("c", [4, 5])
def test_equal_cost_counts_the_network_calls(c):
    """Each sampler of ddpm.EQUAL_COST, run for c calls, evaluates the denoiser as often as
    ddpm.calls_of says: c for DDPM and DDIM, 2 steps - 1 for Heun (c for odd c, c - 1 for even),
    counted at run time, one sample."""
    for name, (setting, lam, steps_for) in ddpm.EQUAL_COST.items():
        model = _CountedGaussian()
        steps = steps_for(c)
        jax.block_until_ready(
            ddpm.sample(jax.random.key(0), model, 1, setting=setting, steps=steps, lam=lam)
        )
        jax.effects_barrier()
        assert model.calls == ddpm.calls_of(setting, steps), (name, model.calls)
        assert model.calls == (c - 1 if setting == "ode" and c % 2 == 0 else c), (name, model.calls)
    with pytest.raises(ValueError, match="steps"):
        ddpm.calls_of("ddim", 0)
    with pytest.raises(ValueError, match="setting"):
        ddpm.calls_of("euler", 3)


def test_fd_against_calls_scores_each_sampler_over_the_seeds():
    """fd_against_calls' row for a sampler and a call count is score_over_seeds of that setting
    with seed s -> jax.random.key(s); the settings differ (DDPM's fresh noise is not DDIM)."""
    model = _CountedGaussian()
    got = ddpm.fd_against_calls(model, [3], seeds=(0, 1), n=40)
    assert list(got) == list(ddpm.EQUAL_COST)
    want = dc.metrics.score_over_seeds(
        lambda s: np.asarray(ddpm.sample(jax.random.key(s), model, 40, setting="ddim", steps=3))[
            ..., 0
        ],
        (0, 1),
    )
    assert got["DDIM (lam = 0)"]["fd"] == [want["fd"]]
    assert got["DDIM (lam = 0)"]["calls"] == [3] and got["ODE (Heun)"]["steps"] == [2]
    assert got["DDPM (lam = 1)"]["fd"] != got["DDIM (lam = 0)"]["fd"]
    with pytest.raises(ValueError, match="calls"):
        ddpm.fd_against_calls(model, [0])
