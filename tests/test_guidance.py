"""Guidance and inpainting against exact answers (notebook 09, diffcourse.guidance).

A labelled 2-D Gaussian mixture (guidance.labelled_mixture: one Gaussian per class) has exact
conditional and unconditional denoisers and the exact noise-conditional classifier p_t(c | z), so
every claim about classifier-free guidance is measured here against the truth, with its Monte
Carlo error; each check is shown to fail for a plausible wrong version. The shipped conditional
digits model is loaded, never trained.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diffcourse import guidance, losses, metrics, populations, samplers
from diffcourse.data import images as data

N = 4000  # samples per mixture experiment: standard error of a mean coordinate about 0.01
C = 0  # the requested class
LAM = {"ddim": 0.0, "ancestral": 1.0}
TS = np.append(samplers.geometric_grid(1e6, 1e-4, 100), 0.0)  # t_max large: start error < 1e-3


@pytest.fixture(scope="module")
def mix():
    return guidance.labelled_mixture()


@pytest.fixture(scope="module")
def z_T(mix):
    return mix.pop.sample_pt(jax.random.key(1), N, TS[0])


@pytest.fixture(scope="module")
def runs(mix, z_T):
    """Guided samples of class C with exact denoisers: {(w, "ddim" | "ancestral"): (N, 2)}.

    ``w`` is an array leaf of Guided and ``lam`` an array of the sampler: one compile for all.
    ``w = -1`` is the unconditional model ((1 + w) yhat_c - w yhat_u = yhat_u)."""
    labels = np.full(N, C)
    out = {}
    for w, name in [(-1.0, "ancestral")] + [(w, s) for w in (0.0, 1.0, 3.0) for s in LAM]:
        y = guidance.sample(jax.random.key(2), mix, z_T, TS, labels, w=w, lam=LAM[name])
        out[w, name] = np.asarray(y)
    return out


@eqx.filter_jit
def _apply(D, z, t, c=None):
    """``D`` on a batch (z (n, d), t (n,)), one compile per denoiser type; ``c`` one label or None."""
    if c is None:
        return jax.vmap(D)(z, t)
    return jax.vmap(D, (0, 0, None))(z, t, c)


def _p_c(mix, y):
    """p(C | y) at t = 0 for each sample, (n,)."""
    return np.exp(np.asarray(jax.vmap(lambda y: mix.log_prob_class(y, 0.0, C))(jnp.asarray(y))))


def _mean_gap(a, b):
    """The largest coordinate gap between the means of two sample sets, in standard errors."""
    se = np.sqrt(a.var(0) / len(a) + b.var(0) / len(b))
    gap = np.abs(a.mean(0) - b.mean(0))
    return gap.max(), (gap / se).max()


# ------------------------------------------------------------------------------ conventions


def test_w_zero_is_the_conditional_denoiser_exactly(mix):
    z = jax.random.normal(jax.random.key(3), (5, 2))
    t = jnp.array([1e-3, 0.1, 1.0, 10.0, 1e4])
    for c in range(mix.n_classes):
        guided = _apply(guidance.Guided(mix, 0.0), z, t, c)
        cond = _apply(mix, z, t, c)
        assert np.array_equal(np.asarray(guided), np.asarray(cond))
    # a wrong version: w = 0 in diffusers' convention is the unconditional model, not this one
    wrong = guidance.combine_scale(cond, _apply(mix, z, t), 0.0)
    assert np.abs(np.asarray(wrong - cond)).max() > 0.1


def test_conventions_agree_to_float_precision(mix):
    key = jax.random.key(4)
    z = jax.random.normal(key, (64, 2))
    t = jnp.geomspace(1e-3, 1e3, 64)
    yc, yu = _apply(mix, z, t, 1), _apply(mix, z, t)
    for w in (0.5, 1.0, 4.0):
        a = guidance.combine(yc, yu, w)
        b = guidance.combine_scale(yc, yu, guidance.scale_from_w(w))
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)
        g_w = guidance.Guided(mix, w)
        g_s = guidance.Guided(mix, guidance_scale=1.0 + w)
        assert float(g_w.w) == float(g_s.w) == w
        # the eps view: combine the predicted noises, convert to a denoiser; and the score view
        eps = lambda y: (z - y) / jnp.sqrt(t)[:, None]
        from_eps = z - jnp.sqrt(t)[:, None] * guidance.combine(eps(yc), eps(yu), w)
        score = lambda y: (y - z) / t[:, None]
        from_score = z + t[:, None] * guidance.combine(score(yc), score(yu), w)
        np.testing.assert_allclose(from_eps, a, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(from_score, a, rtol=1e-10, atol=1e-10)
        # a wrong convention (diffusers' scale read as Ho & Salimans' w) fails the equality
        wrong = guidance.combine_scale(yc, yu, w)
        assert np.abs(np.asarray(wrong - a)).max() > 0.1
    assert guidance.w_from_scale(7.5) == 6.5


# ------------------------------------------------------------------------------ label dropout


class _TinyConditional(eqx.Module):
    """z -> linear(z, ln t, label embedding): a conditional net small enough to train in a test."""

    emb: jax.Array
    lin: eqx.nn.Linear
    n_classes: int = eqx.field(static=True)

    def __init__(self, key, n_classes=3, d=2):
        k1, k2 = jax.random.split(key)
        self.emb = jax.random.normal(k1, (n_classes + 1, 4))
        self.lin = eqx.nn.Linear(d + 5, d, key=k2)
        self.n_classes = n_classes

    def __call__(self, z, t, c=None):
        e = self.emb[self.n_classes if c is None else c]
        return self.lin(jnp.concatenate([z, jnp.log(t)[None], e]))


def test_label_dropout_one_ignores_labels_and_zero_is_the_loss(mix):
    base = losses.make_loss_fn(weighting="denoiser", t_sampler=losses.LogUniform(1e-2, 10.0))
    y = mix.pop.sample(jax.random.key(5), 256)
    c = jax.random.randint(jax.random.key(6), (256,), 0, 3)
    shuffled = jnp.roll(c, 1)
    model = _TinyConditional(jax.random.key(7))
    key = jax.random.key(8)
    # p = 0 is the loss itself; p = 1 never sees a label: the same loss for any labels
    p0 = guidance.label_dropout(base, 0.0, 3)
    assert float(p0(model, key, (y, c))) == float(base(model, key, (y, c)))
    p1 = guidance.label_dropout(base, 1.0, 3)
    assert float(p1(model, key, (y, c))) == float(p1(model, key, (y, shuffled)))
    assert float(p1(model, key, (y, c))) == float(base(model, key, (y, jnp.full(256, 3))))
    # the drop rate is p, measured on 20 000 labels (4 standard errors)
    spy = lambda m, k, b: jnp.mean(b[1] == 3)
    rate = float(guidance.label_dropout(spy, 0.3, 3)(model, key, (y, jnp.zeros(20000, int))))
    assert abs(rate - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 20000)

    # with p = 1 the gradient, hence every step of train.fit (a function of the gradients), is
    # the same whatever the labels: bit for bit; a wrong version (no dropout) learns from the labels: its gradient depends on them
    leaves = lambda m: jax.tree.leaves(eqx.filter(m, eqx.is_array))
    grad = lambda loss, labels: leaves(eqx.filter_grad(loss)(model, key, (y, labels)))
    assert all(np.array_equal(u, v) for u, v in zip(grad(p1, c), grad(p1, shuffled), strict=True))
    assert not np.array_equal(grad(p0, c)[0], grad(p0, shuffled)[0])  # the label embedding


# ----------------------------------------------------------------- the labelled 2-D mixture


def test_mixture_denoisers_are_exact(mix):
    z, t = jax.random.normal(jax.random.key(16), (20, 2)) * 2, jnp.geomspace(1e-3, 10.0, 20)
    np.testing.assert_allclose(_apply(mix, z, t), _apply(mix.pop.posterior_mean, z, t), atol=1e-13)
    r = _apply(mix.pop.responsibilities, z, t)
    bayes = lambda z, t, c: mix(z, t) + t * jax.grad(mix.log_prob_class)(z, t, c)
    for c in range(3):
        sub = mix.class_population(c)
        np.testing.assert_allclose(
            _apply(mix, z, t, c), _apply(sub.posterior_mean, z, t), atol=1e-12
        )
        p_c = np.exp(_apply(mix.log_prob_class, z, t, c))
        np.testing.assert_allclose(p_c, r[:, c], atol=1e-13)
        # Bayes: E[y | z, c] = E[y | z] + t grad log p_t(c | z)
        np.testing.assert_allclose(_apply(mix, z, t, c), _apply(bayes, z, t, c), atol=1e-11)


def test_guidance_puts_mass_on_the_requested_class(mix, runs):
    mass = {w: np.mean(np.asarray(mix.class_of(runs[w, "ancestral"])) == C) for w in (0, 1, 3)}
    soft = {w: _p_c(mix, runs[w, "ancestral"]).mean() for w in (0, 1, 3)}
    print(f"P(class of y = {C}) at w = 0, 1, 3: {mass}; mean p(c | y): {soft}")
    assert mass[0] < mass[1] < mass[3] and soft[0] < soft[1] < soft[3]
    assert mass[1] >= 0.97 and mass[3] >= 0.995
    # w = 0 samples p(y | c): its mass is the class's own, measured on exact draws (4 SE)
    exact = mix.class_population(C).sample(jax.random.key(10), N)
    own = np.mean(np.asarray(mix.class_of(exact)) == C)
    assert abs(mass[0] - own) < 4 * np.sqrt(own * (1 - own) / N) * np.sqrt(2)
    # a wrong version, the sampler that ignores the label (w = -1), fails the bar
    assert np.mean(np.asarray(mix.class_of(runs[-1.0, "ancestral"])) == C) < 0.5


def test_guided_sampling_is_not_the_tilted_density(mix, runs):
    """Bradley & Nakkiran 2024 (arXiv 2408.09000): CFG's guided score is not the score of the
    tilted density p(y|c)^(1+w) p(y)^(-w) diffused, so it does not sample it. Measured: exact
    draws of the tilted density by importance resampling against the guided sampler."""
    gaps = {}
    for w in (0.0, 1.0, 3.0):
        tilted, ess = mix.sample_tilted(jax.random.key(11), C, w, N)
        assert ess > 10 * N  # the proposals' effective sample size, out of 20 N
        for name in ("ddim", "ancestral"):
            gaps[w, name] = _mean_gap(runs[w, name], np.asarray(tilted))
    print({k: (round(g, 3), round(z, 1)) for k, (g, z) in gaps.items()})
    # w = 0: both samplers draw p(y | c) (the check passes when the claim is true) ...
    assert gaps[0.0, "ddim"][1] < 4 and gaps[0.0, "ancestral"][1] < 4
    # ... w > 0: the mean misses the tilted density's by many standard errors
    for w in (1.0, 3.0):
        for name in ("ddim", "ancestral"):
            assert gaps[w, name][0] > 0.15 and gaps[w, name][1] > 10


def test_guided_ancestral_and_ddim_differ(mix, z_T, runs):
    gap0 = _mean_gap(runs[0.0, "ddim"], runs[0.0, "ancestral"])
    gaps = {w: _mean_gap(runs[w, "ddim"], runs[w, "ancestral"]) for w in (1.0, 3.0)}
    print(f"DDIM - ancestral, largest mean gap (value, SE units): w=0 {gap0}, {gaps}")
    assert gap0[1] < 4  # w = 0: one diffusion, every lam samples it
    assert all(g > 0.1 and z > 10 for g, z in gaps.values())
    # the gap is not the step error: DDIM on a grid twice as fine moves by far less (paired)
    fine = np.append(samplers.geometric_grid(1e6, 1e-4, 200), 0.0)
    y2 = guidance.sample(jax.random.key(2), mix, z_T[:1000], fine, np.full(1000, C), w=1.0)
    step_error = np.abs(np.asarray(y2).mean(0) - runs[1.0, "ddim"][:1000].mean(0)).max()
    assert step_error < 0.2 * gaps[1.0][0]


def test_classifier_guidance_with_the_exact_classifier_is_cfg(mix, z_T, runs):
    u = lambda z, t: mix(z, t)
    z = jax.random.normal(jax.random.key(12), (50, 2)) * 2
    t = jnp.geomspace(1e-3, 1e3, 50)
    for w in (0.0, 2.0):
        cg, cfg = guidance.ClassifierGuided(u, mix.log_prob_class, 3, w), guidance.Guided(mix, w)
        for c in range(3):
            np.testing.assert_allclose(_apply(cg, z, t, c), _apply(cfg, z, t, c), atol=1e-9)
    # whole runs from the same noise and keys: classifier guidance against the CFG run at w = 1
    labels = np.full(N, C)
    run = lambda w: samplers.sample(
        jax.random.key(2),
        guidance.ClassifierGuided(u, mix.log_prob_class, 3, w),
        z_T,
        TS,
        lam=1.0,
        c=labels,
    )
    assert np.abs(np.asarray(run(1.0)) - runs[1.0, "ancestral"]).max() < 1e-6
    # a wrong version: Dhariwal & Nichol's scale s read as w (scale w, not 1 + w)
    assert np.abs(np.asarray(run(0.0)) - runs[1.0, "ancestral"]).mean() > 0.05


# ------------------------------------------------------------------------------ inpainting


def _gaussian_image():
    """A Gaussian on 8 pixels in a row, correlation length 2; the left half is known (1.5 each)."""
    x = np.arange(8)
    cov = np.exp(-0.25 * (x[:, None] - x[None]) ** 2) + 0.05 * np.eye(8)
    pop = populations.GaussianMixture(jnp.ones(1), jnp.zeros((1, 8)), jnp.asarray(cov)[None])
    return pop, cov, np.where(x < 4, 1.5, 0.0), (x < 4).astype(float)


def test_inpainting_matches_the_exact_gaussian_conditional():
    pop, cov, y0, mask = _gaussian_image()
    mean_u, cov_u = guidance.gaussian_conditional(np.zeros(8), cov, y0, mask)
    n = 2000
    ts = np.append(samplers.geometric_grid(20.0, 1e-3, 100), 0.0)
    y = np.broadcast_to(y0, (n, 8))
    z_T = np.sqrt(21.0) * np.asarray(jax.random.normal(jax.random.key(14), (n, 8)))
    err = {}
    for r in (1, 20):  # the resampling count is traced: one compile
        out = np.asarray(
            guidance.inpaint(jax.random.key(15), pop.posterior_mean, y, mask, z_T, ts, resample=r)
        )
        assert np.array_equal(out[:, :4], y[:, :4])  # the known pixels, exactly
        u = out[:, 4:]
        err[r] = np.abs(u.mean(0) - mean_u).max(), np.abs(np.cov(u.T) - cov_u).max()
    print(
        f"exact conditional mean {np.round(mean_u, 3)}; (mean error, cov error) by resampling: {err}"
    )
    # RePaint (20 passes per step): the mean within 0.1 (its shift is 1.03; standard error 0.02),
    # the covariance within 0.08 (entries up to 1.05, standard error about 0.03)
    assert err[20][0] < 0.1 and err[20][1] < 0.08
    # a wrong version, plain replacement (no resampling), misses the mean by far more
    assert err[1][0] > 0.3


# ------------------------------------------------------------- the shipped conditional model


@pytest.fixture(scope="module")
def shipped():
    return guidance.load_shipped()[0]


@pytest.fixture(scope="module")
def sweep(shipped):
    """The w sweep of the shipped model, 5 samples of each digit per w (same noise), DDIM 25
    steps; w = -1 (the unconditional model, the null label) in the same compile."""
    ws = (-1.0, 0.0, 0.5, 1.0, 2.0, 4.0)
    labels = np.tile(np.arange(10), 5)
    _, agree, div = guidance.sweep(jax.random.key(0), shipped, ws, labels, steps=25)
    out = {w: (float(agree[i]), float(div[i])) for i, w in enumerate(ws)}
    print("w: (agreement, diversity)", {w: (round(a, 2), round(d, 2)) for w, (a, d) in out.items()})
    return out


def test_shipped_model_meta(shipped):
    _, meta = guidance.load_shipped()
    assert meta["model"]["n_classes"] == 10 and meta["p_uncond"] == guidance.P_UNCOND
    assert meta["step"] == guidance.SHIPPED_STEPS
    assert guidance.SHIPPED_DIR.joinpath("model.ckpt").stat().st_size < 4e6


def test_shipped_model_follows_the_label_at_the_default_w(sweep):
    assert sweep[guidance.DEFAULT_W][0] >= 0.9
    # a wrong version, the unconditional model (null label), agrees about one time in ten
    assert sweep[-1.0][0] < 0.4


def test_sweep_trades_diversity_for_agreement(sweep):
    ws = (0.0, 0.5, 1.0, 2.0, 4.0)
    agree = np.array([sweep[w][0] for w in ws])
    div = np.array([sweep[w][1] for w in ws])
    assert np.all(np.diff(agree) >= -0.02) and agree[-1] > agree[0] - 1e-9
    assert np.all(np.diff(div) < 0)  # strictly less diverse at every step of w


def test_inpainting_digits_recovers_the_label(shipped):
    """The bottom half of 100 held-out digits erased and filled by RePaint (25 steps, 4 passes)
    with the model's unconditional denoiser; measured 0.63 against 0.49 for uniform noise."""
    x, labels = data.load_digits("heldout")
    x, labels = x[:100], labels[:100]
    mask = guidance.half_mask((8, 8, 1), "top")
    filled = guidance.inpaint_digits(jax.random.key(0), shipped, x, mask, steps=25, resample=4)
    noise = guidance.noise_fill(jax.random.key(1), x, mask)
    assert np.array_equal(filled[:, :4], x[:, :4])  # the known top half, exactly
    acc = lambda y: np.mean(metrics.probabilities(y).argmax(1) == labels)
    a_fill, a_noise = acc(filled), acc(noise)
    print(f"classifier accuracy, 100 half-erased digits: RePaint {a_fill:.2f}, noise {a_noise:.2f}")
    assert a_fill >= 0.57 and a_noise <= 0.55 and a_fill - a_noise >= 0.08


# ----------------------------------------------------------------------------- bad input


class _Spy:
    """A conditional denoiser that counts how often it is traced or called."""

    conditional = True
    n_classes = 3

    def __init__(self):
        self.calls = 0

    def __call__(self, z, t, c=None):
        self.calls += 1
        return z


def test_bad_input_is_a_clear_error_before_anything_compiles(mix):
    spy = _Spy()
    z_T, ts = jnp.zeros((4, 2)), TS[::10]
    with pytest.raises(ValueError, match="labels of the classes 0..2"):
        guidance.sample(jax.random.key(0), spy, z_T, ts, np.array([0, 1, 3, 0]), w=1.0)
    with pytest.raises(ValueError, match="labels of the classes"):
        guidance.sample(jax.random.key(0), spy, z_T, ts, np.array([0, -1, 2, 0]), w=1.0)
    with pytest.raises(ValueError, match="integer labels"):
        guidance.sample(jax.random.key(0), spy, z_T, ts, np.array([0, 0.5, 1, 0]), w=1.0)
    with pytest.raises(ValueError, match="one label per sample"):
        guidance.sample(jax.random.key(0), spy, z_T, ts, np.array([0, 1]), w=1.0)
    with pytest.raises(ValueError, match="exactly one of w"):
        guidance.Guided(spy, 1.0, guidance_scale=2.0)
    with pytest.raises(ValueError, match="unconditional"):
        guidance.Guided(lambda z, t: z, 1.0)
    y, ts0 = jnp.zeros((4, 2)), np.append(TS[::10], 0.0)
    with pytest.raises(ValueError, match="mask must be an array of shape"):
        guidance.inpaint(jax.random.key(0), spy, y, np.ones(3), y, ts0)
    with pytest.raises(ValueError, match="0 \\(to fill\\) and 1 \\(known\\)"):
        guidance.inpaint(jax.random.key(0), spy, y, np.array([1.0, 0.5]), y, ts0)
    with pytest.raises(ValueError, match="labels of the classes"):
        guidance.inpaint(jax.random.key(0), spy, y, np.array([1, 0]), y, ts0, c=np.full(4, 7))
    unconditional = mix.pop.posterior_mean
    with pytest.raises(ValueError, match="unconditional"):
        guidance.inpaint(
            jax.random.key(0), unconditional, y, np.array([1, 0]), y, ts0, c=np.zeros(4, int)
        )
    with pytest.raises(ValueError, match="0 and 1|p must be"):
        guidance.label_dropout(lambda m, k, b: 0.0, 1.5, 3)
    assert spy.calls == 0  # nothing was traced


def test_unconditional_digits_model_refuses_a_label():
    from diffcourse import ddpm

    model = ddpm.from_meta(
        {
            **guidance.load_shipped()[1],
            "model": {**guidance.load_shipped()[1]["model"], "n_classes": 0},
        }
    )
    with pytest.raises(ValueError, match="unconditional"):
        guidance.sample_digits(jax.random.key(0), model, [3, 3])
