r"""Conditioning a diffusion model: classifier-free and classifier guidance, inpainting (notebook 09).

Conditioning on a label :math:`c` changes the population, :math:`\mathrm{pop}\to p(y\mid c)`, and
with it every object of the course: :math:`p_t(z\mid c)`, the denoiser :math:`E[y\mid z(t)=z, c]`
and the score. By Bayes, :math:`p_t(z\mid c) = p_t(c\mid z)\,p_t(z)/p(c)`, so

.. math:: \nabla_z\ln p_t(z\mid c) = \nabla_z\ln p_t(z) + \nabla_z\ln p_t(c\mid z),\qquad
          E[y\mid z, c] = E[y\mid z] + t\,\nabla_z\ln p_t(c\mid z)

(the second line is the first through Tweedie, :math:`E[y\mid z] = z + t\nabla\ln p_t`).
Guidance multiplies the classifier term (``w`` is Ho & Salimans 2022's :math:`w`, eq. 6):

.. math:: \hat y_w = \hat y_c + w\,(\hat y_c - \hat y_u) = (1+w)\,\hat y_c - w\,\hat y_u,\qquad
          s_w = \nabla\ln p_t(z\mid c) + w\,\nabla\ln p_t(c\mid z)
              = \nabla_z\ln\big[p_t(c\mid z)^{w}\,p_t(z\mid c)\big],

so :math:`w = 0` is the conditional model and :math:`w > 0` sharpens the classifier. The same
guided denoiser is written in three conventions, which this module keeps apart by name:

==========================  ========================================  ===========================
convention                  formula                                   conditional model at
==========================  ========================================  ===========================
Ho & Salimans ``w``         :math:`(1+w)\hat y_c - w\hat y_u`          :math:`w = 0`
``guidance_scale`` (=1+w)   :math:`\hat y_u + s(\hat y_c - \hat y_u)`  :math:`s = 1`
                            (diffusers' ``guidance_scale``; Dhariwal
                            & Nichol 2021's classifier scale :math:`s`)
==========================  ========================================  ===========================

(:func:`combine`, :func:`combine_scale`, :func:`w_from_scale`). Because :math:`\hat y`,
:math:`\hat\epsilon = (z-\hat y)/\sqrt t` and the score are affine in one another with the
same :math:`z`, combining in any of the three views gives the same guided step.

What guided sampling draws from. The guided score at :math:`t = 0` is that of the *tilted*
density :math:`p(y\mid c)^{1+w}p(y)^{-w}`, but at :math:`t > 0` it is the score of
:math:`p_t(z\mid c)^{1+w}p_t(z)^{-w}`, which is not the tilted density diffused
(Bradley & Nakkiran 2024, arXiv 2408.09000, §3): the sampler follows no single diffusion, and
its output depends on the step rule (:math:`\lambda`). :class:`LabelledMixture` gives the exact
answers to measure this (notebook 09, ``tests/test_guidance.py``).

Everything is written for one sample and lifted by :func:`diffcourse.samplers.sample`
(``vmap`` over key, :math:`z_T` and label).
"""

import dataclasses
import pathlib
import shutil
import sys
import tempfile

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from diffcourse import _validate, ddpm, metrics, samplers, train
from diffcourse.data import images as data
from diffcourse.nets.precond import sigma_data
from diffcourse.populations import GaussianMixture

DEFAULT_W = 1.0  # the shipped model's default guidance weight (guidance_scale 2); see the tests
P_UNCOND = 0.1  # label dropout of the shipped model (Ho & Salimans 2022 §4 use 0.1 or 0.2)
SHIPPED_DIR = pathlib.Path(__file__).parent / "assets" / "digits_cond"
SHIPPED_STEPS = 1000
SHIPPED_COMMAND = "python -m diffcourse.guidance train-shipped"

# ------------------------------------------------------------------------------ conventions


def combine(yhat_c, yhat_u, w):
    r"""Classifier-free guidance in the denoiser view, Ho & Salimans 2022 eq. 6 with
    :math:`\hat\epsilon\to\hat y`: :math:`\hat y_w = (1+w)\,\hat y_c - w\,\hat y_u`. ``w = 0``
    returns ``yhat_c`` exactly."""
    return yhat_c + w * (yhat_c - yhat_u)


def combine_scale(yhat_c, yhat_u, guidance_scale):
    r"""The same in diffusers' convention: :math:`\hat y_u + s\,(\hat y_c - \hat y_u)` with
    ``guidance_scale`` :math:`s = 1 + w` (:func:`w_from_scale`); :math:`s = 1` is the conditional
    model, :math:`s = 0` the unconditional one."""
    return yhat_u + guidance_scale * (yhat_c - yhat_u)


def w_from_scale(guidance_scale):
    r""":math:`w = s - 1`: Ho & Salimans' weight from diffusers' ``guidance_scale`` (or Dhariwal &
    Nichol 2021's classifier scale :math:`s`)."""
    return guidance_scale - 1.0


def scale_from_w(w):
    r""":math:`s = 1 + w`: diffusers' ``guidance_scale`` from Ho & Salimans' weight."""
    return 1.0 + w


def _weight(w, guidance_scale):
    """The one weight ``w`` from exactly one of ``w`` and ``guidance_scale``, checked."""
    if (w is None) == (guidance_scale is None):
        raise ValueError(
            "give exactly one of w (Ho & Salimans, 0 = conditional) and guidance_scale (= 1 + w)"
        )
    if w is None:
        w = w_from_scale(_validate.real("guidance_scale", guidance_scale))
    w = _validate.real("w", w)
    if w < -1.0:
        raise ValueError(f"w must be >= -1 (guidance_scale >= 0); got w={w}")
    return w


# -------------------------------------------------------------------------- guided denoisers


def n_classes_of(denoiser) -> int:
    """The number of classes of a conditional denoiser (0 when it is unconditional).

    Reads ``denoiser.n_classes`` or, for a :class:`~diffcourse.nets.precond.Preconditioned` U-Net,
    ``denoiser.net.n_classes``."""
    n = getattr(denoiser, "n_classes", None)
    if n is None:
        n = getattr(getattr(denoiser, "net", None), "n_classes", 0)
    if getattr(denoiser, "conditional", True) is False:
        return 0
    return int(n or 0)


def check_labels(c, n_classes: int, n: int | None = None):
    """``c`` as int32 labels in ``0..n_classes-1`` (shape (n,) when ``n`` is given); ValueError
    for a label outside the classes or a model without classes."""
    if n_classes < 1:
        raise ValueError("a label was given but the model is unconditional (it has no classes)")
    a = np.asarray(c)
    if a.dtype.kind not in "iu" and not (a.dtype.kind == "f" and np.all(a == np.round(a))):
        raise _validate.fail("c", f"integer labels in 0..{n_classes - 1}", _validate._describe(a))
    if n is not None and a.shape != (n,):
        raise _validate.fail("c", f"one label per sample, shape ({n},)", f"shape {a.shape}")
    if a.size and (a.min() < 0 or a.max() >= n_classes):
        raise _validate.fail(
            "c", f"labels of the classes 0..{n_classes - 1}", _validate._describe(a)
        )
    return jnp.asarray(a.astype(np.int32))


class Guided(eqx.Module):
    r"""Classifier-free guidance as a denoiser: :math:`D_w(z, t, c) = (1+w)D(z,t,c) - wD(z,t)`.

    ``denoiser(z, t, c)`` is the conditional model and ``denoiser(z, t)`` its unconditional one
    (one network trained with label dropout, :func:`label_dropout`; or an exact
    :class:`LabelledMixture`). Its score is :math:`\nabla\ln[p_t(c\mid z)^w p_t(z\mid c)]`
    (module docstring). ``w`` is stored as an array, so a sweep over ``w`` compiles once.
    It carries the inner model's ``shape``, ``t_range`` and ``sigma_data``, so it can be handed
    to :func:`diffcourse.ddpm.sample` or :func:`diffcourse.samplers.sample` with labels ``c``.
    """

    denoiser: object
    w: jax.Array
    n_classes: int = eqx.field(static=True)
    null: int | None = eqx.field(static=True)

    def __init__(self, denoiser, w=None, *, guidance_scale=None):
        n = n_classes_of(denoiser)
        if n < 1 or not samplers.takes_condition(denoiser):
            raise ValueError(
                "guidance needs a conditional denoiser D(z, t, c); got an unconditional model"
            )
        self.denoiser, self.n_classes = denoiser, n
        self.w = jnp.asarray(_weight(w, guidance_scale), jnp.float32)
        # a U-Net's null label is the row n_classes: then both denoisers are one batched call
        net_classes = getattr(getattr(denoiser, "net", None), "n_classes", 0)
        self.null = n if net_classes == n else None

    @property
    def conditional(self):
        return True

    shape = property(lambda self: self.denoiser.shape)
    t_range = property(lambda self: self.denoiser.t_range)
    sigma_data = property(lambda self: self.denoiser.sigma_data)

    def __call__(self, z, t, c):
        if self.null is None:
            yc, yu = self.denoiser(z, t, c), self.denoiser(z, t)
        else:  # one network evaluated on the pair of labels (c, null): half the compiled graph
            pair = jnp.stack([jnp.asarray(c, jnp.int32), jnp.asarray(self.null, jnp.int32)])
            yc, yu = jax.vmap(lambda cc: self.denoiser(z, t, cc))(pair)
        return combine(yc, yu, self.w.astype(yc.dtype))


class ClassifierGuided(eqx.Module):
    r"""Classifier guidance (Dhariwal & Nichol 2021, Alg. 1 and eq. 10–11, in the denoiser view):

    .. math:: D(z,t,c) = D_u(z,t) + (1+w)\,t\,\nabla_z\ln p_t(c\mid z),

    ``denoiser(z, t)`` unconditional, ``log_prob(z, t, c)`` a noise-conditional classifier's
    :math:`\ln p_t(c\mid z)` (differentiated here with ``jax.grad``). :math:`1+w` is Dhariwal &
    Nichol's scale :math:`s`; with the exact :math:`p_t(c\mid z)` and exact denoisers this is
    :class:`Guided` with the same ``w`` (Bayes, module docstring).
    """

    denoiser: object
    log_prob: object
    w: jax.Array
    n_classes: int = eqx.field(static=True)

    def __init__(self, denoiser, log_prob, n_classes: int, w=None, *, guidance_scale=None):
        if not callable(log_prob):
            raise _validate.fail("log_prob", "a function log p_t(c | z) of (z, t, c)", log_prob)
        self.denoiser, self.log_prob = denoiser, log_prob
        self.n_classes = _validate.positive_int("n_classes", n_classes)
        self.w = jnp.asarray(_weight(w, guidance_scale), jnp.float32)

    @property
    def conditional(self):
        return True

    def __call__(self, z, t, c):
        g = jax.grad(self.log_prob)(z, t, c)
        return self.denoiser(z, t) + (1 + self.w.astype(z.dtype)) * t * g


def sample(key, denoiser, z_T, ts, c, *, w=None, guidance_scale=None, step=samplers.ddim, lam=0.0):
    r"""Guided samples: :func:`diffcourse.samplers.sample` of :class:`Guided` ``(denoiser, w)`` with
    labels ``c`` (n,), from ``z_T`` (n, ...) down ``ts``. Labels, weight and model are checked
    here, before anything compiles. Returns (n, ...)."""
    guided = Guided(denoiser, w, guidance_scale=guidance_scale)
    c = check_labels(c, guided.n_classes, np.shape(z_T)[0])
    return samplers.sample(key, guided, z_T, ts, step=step, lam=lam, c=c)


def sample_digits(key, model, labels, *, w=DEFAULT_W, setting="ddim", steps=50, lam=None):
    r"""Guided digits from a class-conditional :func:`diffcourse.ddpm` model: one image per label
    in ``labels`` (n,), :func:`diffcourse.ddpm.sample` of :class:`Guided` ``(model, w)``
    (``w = 0``: the conditional model, no guidance). Returns (n, H, W, C) in the data's scale."""

    guided = Guided(model, w)
    c = check_labels(labels, guided.n_classes, np.size(labels))
    return ddpm.sample(key, guided, len(c), setting=setting, steps=steps, lam=lam, c=c)


# ------------------------------------------------------------------------------ label dropout


def label_dropout(loss_fn, p: float, n_classes: int):
    r"""Wrap ``loss_fn(model, key, (y, c))`` so each label is replaced by the null label
    ``n_classes`` with probability ``p`` (Ho & Salimans 2022, Alg. 1, :math:`p_{\rm uncond}`):
    one network then learns both :math:`E[y\mid z, c]` and :math:`E[y\mid z]` (the null label
    is the U-Net's unconditional row, :class:`diffcourse.nets.unet.UNet`).

    The drop mask is drawn from ``fold_in(key, 1)``, and ``loss_fn`` gets ``key`` itself, so
    ``p = 0`` is the wrapped loss exactly and ``p = 1`` a loss that never sees a label. A batch
    without labels is refused."""
    p = _validate.real("p", p, low=0.0, high=1.0)
    n_classes = _validate.positive_int("n_classes", n_classes)

    def dropped(model, key, batch):
        if not (isinstance(batch, tuple) and len(batch) == 2):
            raise ValueError("label dropout needs batches (y, c) with one label per sample")
        y, c = batch
        drop = jax.random.bernoulli(jax.random.fold_in(key, 1), p, jnp.shape(c))
        return loss_fn(model, key, (y, jnp.where(drop, n_classes, c).astype(jnp.int32)))

    return dropped


# --------------------------------------------------------------- a labelled Gaussian mixture


class LabelledMixture(eqx.Module):
    r"""A Gaussian mixture whose components carry class labels: exact conditional answers.

    ``pop``: a :class:`~diffcourse.populations.GaussianMixture`; ``labels``: the class of each
    component (default: component :math:`k` is class :math:`k`). With :math:`S_k = C_k + tI` and
    logits :math:`\ell_k = \ln\pi_k + \ln N(z;\mu_k,S_k)`:

    .. math:: p_t(c\mid z) = \sum_{k: c_k = c}\mathrm{softmax}(\ell)_k,\qquad
              E[y\mid z, c] = \sum_{k:c_k=c}\frac{e^{\ell_k}}{\sum_{j:c_j=c}e^{\ell_j}}
              \big(\mu_k + C_kS_k^{-1}(z-\mu_k)\big).

    ``__call__(z, t, c=None)`` is that denoiser (``c = None``: the whole mixture's). One sample.
    """

    pop: object
    labels: jax.Array
    n_classes: int = eqx.field(static=True)

    def __init__(self, pop, labels=None):
        k = pop.means.shape[0]
        labels = np.arange(k) if labels is None else np.asarray(labels)
        if labels.shape != (k,) or labels.dtype.kind not in "iu" or labels.min() < 0:
            raise _validate.fail(
                "labels", f"one class index >= 0 per component, shape ({k},)", labels
            )
        self.pop, self.labels = pop, jnp.asarray(labels, jnp.int32)
        self.n_classes = int(labels.max()) + 1

    @property
    def conditional(self):
        return True

    def _parts(self, z, t):
        r"""Logits (K,) and per-component posterior means (K, d) at (z, t), through the stored
        eigendecomposition :math:`C_k = U_k\,\mathrm{diag}(e_k)\,U_k^\top` (no solve per call)."""
        pop = self.pop
        e = pop.eigvals + t  # eigenvalues of S_k
        u = jnp.einsum("kji,kj->ki", pop.eigvecs, z - pop.means)  # U_k^T (z - mu_k)
        sol = jnp.einsum("kij,kj->ki", pop.eigvecs, u / e)  # S_k^{-1} (z - mu_k)
        logn = -0.5 * jnp.sum(u**2 / e + jnp.log(2 * jnp.pi * e), axis=-1)
        return jnp.log(pop.weights) + logn, z - t * sol  # mu + C S^{-1}(z-mu) = z - t S^{-1}(z-mu)

    def __call__(self, z, t, c=None):
        logits, m = self._parts(z, t)
        if c is not None:
            logits = jnp.where(self.labels == c, logits, -jnp.inf)
        return jax.nn.softmax(logits) @ m

    def log_prob_class(self, z, t, c):
        r""":math:`\ln p_t(c\mid z)`: the exact noise-conditional classifier. Scalar."""
        logits, _ = self._parts(z, t)
        return logsumexp(jnp.where(self.labels == c, logits, -jnp.inf)) - logsumexp(logits)

    def log_density(self, y, t=0.0, c=None):
        r""":math:`\ln p_t(y)`, or :math:`\ln p_t(y\mid c)` with a label. Scalar."""
        logits, _ = self._parts(y, t)
        if c is None:
            return logsumexp(logits)
        mask = self.labels == c
        log_pc = logsumexp(jnp.where(mask, jnp.log(self.pop.weights), -jnp.inf))
        return logsumexp(jnp.where(mask, logits, -jnp.inf)) - log_pc

    def class_population(self, c: int):
        """The population of class ``c``, :math:`p(y\\mid c)`, as a GaussianMixture (concrete c)."""

        c = int(check_labels(np.array([c]), self.n_classes)[0])
        keep = np.asarray(self.labels) == c
        w = np.asarray(self.pop.weights)[keep]
        return GaussianMixture(w / w.sum(), self.pop.means[keep], self.pop.covs[keep])

    @eqx.filter_jit
    def class_of(self, y):
        """The most probable class of each clean point ``y`` (n, d) under the mixture. Shape (n,)."""
        lp = jax.vmap(lambda c: jax.vmap(lambda y: self.log_prob_class(y, 0.0, c))(y))
        return jnp.argmax(lp(jnp.arange(self.n_classes)), axis=0)

    def sample_tilted(self, key, c: int, w: float, n: int, *, oversample: int = 20):
        r"""``n`` exact draws of the tilted density :math:`p(y\mid c)^{1+w}p(y)^{-w}` by importance
        resampling: ``oversample * n`` proposals from :math:`p(y\mid c)`, weights
        :math:`\propto(p(y\mid c)/p(y))^w = (p(c\mid y)/p(c))^w\le p(c)^{-w}` (bounded, so the
        resampling is well behaved), ``n`` indices drawn with those weights.
        Returns ``(y (n, d), ess)``, ``ess`` the proposals' effective sample size."""
        n = _validate.positive_int("n", n)
        w = _validate.real("w", w, low=0.0)
        k_prop, k_pick = jax.random.split(key)
        prop = self.class_population(c).sample(
            k_prop, n * _validate.positive_int("oversample", oversample)
        )
        logw = w * jax.vmap(lambda y: self.log_prob_class(y, 0.0, c))(prop)
        p = jax.nn.softmax(logw)
        ess = 1.0 / jnp.sum(p**2)
        idx = jax.random.choice(k_pick, prop.shape[0], (n,), p=p)
        return prop[idx], float(ess)


def labelled_mixture():
    """The course's labelled 2-D mixture of notebook 09: three overlapping classes (one Gaussian
    each) so that a class's own samples are often claimed by a neighbour, and guidance has
    something to sharpen. pi = (.3, .4, .3), means (-1, 0), (1, 0), (0, 1.5)."""

    means = jnp.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.5]])
    covs = jnp.array(
        [[[0.5, 0.15], [0.15, 0.4]], [[0.4, -0.1], [-0.1, 0.5]], [[0.6, 0.0], [0.0, 0.3]]]
    )
    return LabelledMixture(GaussianMixture(jnp.array([0.3, 0.4, 0.3]), means, covs))


# ---------------------------------------------------------------------------------- inpainting


def check_mask(mask, shape):
    """``mask`` (1 = known, 0 = to fill) of the shape of one sample or of the batch, only 0 and 1."""
    m = np.asarray(mask)
    if m.shape not in (tuple(shape), tuple(shape[1:])):
        raise _validate.fail(
            "mask",
            f"an array of shape {tuple(shape[1:])} or {tuple(shape)} (1 = known)",
            f"shape {m.shape}",
        )
    if m.dtype.kind not in "biuf" or not np.all((m == 0) | (m == 1)):
        raise _validate.fail(
            "mask", "an array of 0 (to fill) and 1 (known) only", _validate._describe(m)
        )
    return jnp.asarray(np.broadcast_to(m, shape).astype(bool))


def _inpaint_one(key, D, y, known, z_T, ts, lam, step, resample):
    r"""RePaint for one sample: each step :math:`t\to s` runs the reverse step on the whole image,
    replaces the known part by a fresh forward draw :math:`y+\sqrt s\,\epsilon`, and (``resample``
    times in all) goes back to :math:`t` by the forward kernel :math:`N(z_s, (t-s)I)` and repeats."""
    k0, k_steps = jax.random.split(key)
    z0 = jnp.where(known, y + jnp.sqrt(ts[0]) * jax.random.normal(k0, y.shape, y.dtype), z_T)
    keys = jax.random.split(k_steps, ts.shape[0] - 1)

    def one_step(z, t, s, k):
        k_rev, k_known = jax.random.split(k)
        xi = jax.random.normal(k_rev, z.shape, z.dtype)
        z_s = step(D, z, t, s, lam, xi)
        y_s = y + jnp.sqrt(s) * jax.random.normal(k_known, y.shape, y.dtype)
        return jnp.where(known, y_s, z_s)

    def body(z, inputs):
        t, s, k = inputs

        def pass_(i, u):  # one pass: the step, then (but after the last pass) back up to t
            k_step, k_up = jax.random.split(jax.random.fold_in(k, i))
            z_s = one_step(u, t, s, k_step)
            back = jnp.where(i < resample - 1, jnp.sqrt(t - s), 0.0).astype(z_s.dtype)
            return z_s + back * jax.random.normal(k_up, z_s.shape, z_s.dtype)

        # a traced count (one compile for every U) and one copy of the network in the graph
        return jax.lax.fori_loop(0, resample, pass_, z), None

    z, _ = jax.lax.scan(body, z0, (ts[:-1], ts[1:], keys))
    return jnp.where(known, y, z)  # the known pixels exactly (ts[-1] = 0 makes this a no-op)


@eqx.filter_jit
def _inpaint(keys, denoiser, y, known, z_T, ts, lam, step, resample, c):
    def one(k, y, m, z, c):
        D = (lambda z, t: denoiser(z, t)) if c is None else (lambda z, t: denoiser(z, t, c))
        return _inpaint_one(k, D, y, m, z, ts, lam, step, resample)

    return jax.vmap(one, in_axes=(0, 0, 0, 0, None if c is None else 0))(keys, y, known, z_T, c)


def inpaint(key, denoiser, y, mask, z_T, ts, *, step=samplers.ddim, lam=1.0, resample=1, c=None):
    r"""Fill the unknown part of ``y`` (n, ...) by reverse sampling with replacement and
    resampling (RePaint, Lugmayr et al. 2022, Alg. 1 with jump length 1, in VE coordinates).

    ``mask`` (1 = known) of the shape of ``y`` or of one sample; ``z_T`` (n, ...) the start
    (its known part is replaced); ``ts`` a decreasing grid ending at 0; ``step``/``lam`` one of
    the sampler's step rules (RePaint is DDPM's ancestral step, ``ddim`` with ``lam = 1``);
    ``resample``: :math:`U`, the number of passes of every step (1 = plain replacement,
    Song et al. 2021 App. I.2). ``c``: labels for a conditional model (None: unconditional).
    The known pixels of the result are those of ``y`` exactly. Returns (n, ...).
    """
    y = jnp.asarray(y)
    if y.ndim < 2:
        raise ValueError(f"y must be a batch of shape (n, ...); got {y.shape}")
    known = check_mask(mask, y.shape)
    z_T = jnp.asarray(z_T, y.dtype)
    if z_T.shape != y.shape:
        raise ValueError(f"z_T must have the shape of y {y.shape}; got {z_T.shape}")
    ts = samplers.check_grid(ts)
    if ts[-1] != 0:
        raise ValueError(f"ts must end at 0 for inpainting; got {ts[-1]}")
    if step not in samplers.STEPS.values():
        raise ValueError(f"step must be one of samplers.{tuple(samplers.STEPS)}; got {step!r}")
    lam = samplers._check_lam(lam, step)
    resample = _validate.positive_int("resample", resample)
    if c is not None:
        c = check_labels(c, n_classes_of(denoiser), y.shape[0])
    keys = jax.random.split(key, y.shape[0])
    ts = jnp.asarray(ts, y.dtype)
    lam, resample = jnp.asarray(lam, y.dtype), jnp.asarray(resample, jnp.int32)
    return _inpaint(keys, denoiser, y, known, z_T, ts, lam, step, resample, c)


def gaussian_conditional(mean, cov, y, mask):
    r"""The exact :math:`p(y_u\mid y_k)` of a Gaussian :math:`N(\mu, C)` given the known coordinates
    (``mask`` = 1) of one sample ``y`` (d,): the Schur complement,

    .. math:: \mu_{u\mid k} = \mu_u + C_{uk}C_{kk}^{-1}(y_k-\mu_k),\qquad
              C_{u\mid k} = C_{uu} - C_{uk}C_{kk}^{-1}C_{ku}

    (e.g. Bishop 2006, eq. 2.81–2.82). Returns ``(mean_u (m,), cov_u (m, m))`` over the unknown
    coordinates in their order."""
    mean, cov, y = (np.asarray(a, np.float64) for a in (mean, cov, y))
    d = mean.shape[0]
    if mean.shape != (d,) or cov.shape != (d, d) or y.shape != (d,):
        raise ValueError(
            f"mean (d,), cov (d, d), y (d,) expected; got {mean.shape}, {cov.shape}, {y.shape}"
        )
    k = np.asarray(check_mask(mask, (d,)))
    u = ~k
    A = np.linalg.solve(cov[np.ix_(k, k)], cov[np.ix_(k, u)]).T  # C_uk C_kk^{-1}
    return mean[u] + A @ (y[k] - mean[k]), cov[np.ix_(u, u)] - A @ cov[np.ix_(k, u)]


# -------------------------------------------------------------------- the shipped checkpoint


def train_conditional(
    key,
    images,
    labels,
    *,
    steps,
    p_uncond=P_UNCOND,
    out_dir=None,
    resume=False,
    arch=None,
    loss=None,
    progress=True,
    **config,
):
    r"""Train a class-conditional digits DDPM with label dropout: :func:`diffcourse.ddpm.train_images`
    with the loss wrapped by :func:`label_dropout` (``p_uncond``), on the pytree (images, labels).

    ``images`` (N, H, W) in [-1, 1], ``labels`` (N,) in 0..n_classes-1; ``arch`` default
    ``ddpm.Arch(n_classes=10)``. With ``out_dir``, ``model.ckpt`` (the EMA model, float32) is
    written there with ``meta["p_uncond"]``. Returns ``(result, meta)``.
    """

    images = np.asarray(images, np.float32)
    images = images[..., None] if images.ndim == 3 else images
    arch = ddpm.Arch(n_classes=10) if arch is None else arch
    if arch.n_classes < 1:
        raise ValueError(
            f"arch.n_classes must be >= 1 for a conditional model; got {arch.n_classes}"
        )
    labels = np.asarray(check_labels(labels, arch.n_classes, len(images)))
    loss = ddpm.Loss() if loss is None else loss
    if loss.sigma_data is None:
        loss = dataclasses.replace(loss, sigma_data=round(sigma_data(images), 4))
    meta = {**ddpm.meta_for(images.shape[1:], arch, loss), "p_uncond": float(p_uncond)}
    k_init, k_train = jax.random.split(key)
    model = ddpm.build(k_init, images.shape[1:], arch, loss)
    loss_fn = label_dropout(loss.loss_fn(), p_uncond, arch.n_classes)
    result = train.fit(
        k_train,
        model,
        loss_fn,
        (images, labels),
        train.TrainConfig(steps=steps, **config),
        out_dir=out_dir,
        resume=resume,
        progress=progress,
        meta=meta,
    )
    if out_dir is not None:
        ddpm.save(
            pathlib.Path(out_dir) / "model.ckpt",
            result.ema_model,
            {**meta, "step": result.steps_done},
        )
    return result, meta


def train_shipped(out_dir=SHIPPED_DIR, *, progress=True):
    """Train the shipped conditional digits model's recipe again
    (``python -m diffcourse.guidance train-shipped``). With the current code this does **not**
    reproduce the shipped file bit for bit (a review found another SHA-256, parameters differing
    by up to 1.2e-5: float32 reductions in code changed since it was trained). Key 0, the
    digits' training split with labels, :data:`SHIPPED_STEPS` steps at batch 128, label dropout
    :data:`P_UNCOND`, float32. Writes ``model.ckpt`` and ``log.jsonl`` into ``out_dir`` (the
    training state ``checkpoint.ckpt`` is removed). Returns the model path."""

    out_dir = pathlib.Path(out_dir)
    x, c = data.load_digits("train")
    with jax.enable_x64(False), tempfile.TemporaryDirectory() as tmp:
        train_conditional(
            jax.random.key(0), x, c, steps=SHIPPED_STEPS, out_dir=tmp, progress=progress
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in ("model.ckpt", "log.jsonl"):
            shutil.copyfile(pathlib.Path(tmp) / name, out_dir / name)
    return out_dir / "model.ckpt"


def load_shipped(path=None):
    """The shipped class-conditional digits model (or the one at ``path``). Returns ``(model, meta)``."""

    return ddpm.load(SHIPPED_DIR if path is None else path)


if __name__ == "__main__":
    if sys.argv[1:2] != ["train-shipped"]:
        print(f"usage: {SHIPPED_COMMAND} [OUT_DIR]", file=sys.stderr)
        raise SystemExit(2)
    print(train_shipped(*sys.argv[2:3]))


# ------------------------------------------------------------------ digits: sweep and inpainting


def agreement_and_diversity(images, labels, clf=None):
    r"""How guided digits look to the classifier of :mod:`diffcourse.metrics`:

    - agreement: the fraction of images whose predicted class is the requested label;
    - diversity: the mean pixel distance between two images of the same requested label,
      :math:`\frac1{|L|}\sum_c \mathrm{mean}_{i\ne j,\,c_i=c_j=c}\|y_i - y_j\|`.

    ``images`` (n, H, W[, 1]), ``labels`` (n,). Returns ``(agreement, diversity)`` floats."""

    x = np.asarray(images, np.float64).reshape(len(images), -1)
    labels = np.asarray(labels)
    agree = float(np.mean(metrics.probabilities(images, clf).argmax(1) == labels))
    div = []
    for c in np.unique(labels):
        a = x[labels == c]
        d = np.sqrt(np.maximum(((a[:, None] - a[None]) ** 2).sum(-1), 0.0))
        div.append(d.sum() / max(len(a) * (len(a) - 1), 1))
    return agree, float(np.mean(div))


def sweep(key, model, ws, labels, *, setting="ddim", steps=25):
    r"""Guided digits at each weight in ``ws`` from the same key (so the same starting noise):
    returns ``(images (len(ws), n, H, W), agreement (len(ws),), diversity (len(ws),))``
    (:func:`agreement_and_diversity`). One compile for every ``w`` (an array of :class:`Guided`)."""
    out, agree, div = [], [], []
    for w in ws:
        x = np.asarray(sample_digits(key, model, labels, w=w, setting=setting, steps=steps))[..., 0]
        a, d = agreement_and_diversity(x, labels)
        out.append(x), agree.append(a), div.append(d)
    return np.stack(out), np.array(agree), np.array(div)


def half_mask(shape=(8, 8, 1), keep="top"):
    """A mask (1 = known) keeping the top, bottom, left or right half of an image (H, W, C)."""
    h, w = shape[:2]
    m = np.zeros(shape)
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    sel = {
        "top": rows < h // 2,
        "bottom": rows >= h // 2,
        "left": cols < w // 2,
        "right": cols >= w // 2,
    }
    if keep not in sel:
        raise ValueError(f"keep must be one of {tuple(sel)}; got {keep!r}")
    m[np.broadcast_to(sel[keep], (h, w))] = 1.0
    return m


def inpaint_digits(key, model, images, mask, *, steps=25, resample=4, c=None):
    r"""Fill the unknown part (``mask`` = 0) of digits ``images`` (n, H, W) with a
    :func:`diffcourse.ddpm` model by RePaint (:func:`inpaint`, DDPM's ancestral step on the DDIM
    grid of ``steps`` steps, ``resample`` passes; measured in the tests). ``c``: labels for a conditional model, or None
    (a conditional model then uses its null label). Returns (n, H, W)."""

    y = jnp.asarray(images, jnp.float32)[..., None]
    ts, _ = ddpm.grid(model, "ddim", steps)
    k_T, k_run = jax.random.split(key)
    z_T = np.sqrt(ts[0] + model.sigma_data**2) * jax.random.normal(k_T, y.shape, y.dtype)
    out = inpaint(k_run, model, y, mask, z_T, ts, lam=1.0, resample=resample, c=c)
    return np.asarray(out)[..., 0]


def noise_fill(key, images, mask):
    """The baseline: the unknown part (``mask`` = 0) filled with uniform noise in [-1, 1]. (n, H, W)."""
    y = np.asarray(images, np.float32)
    known = np.asarray(check_mask(mask, y.shape[1:] + (1,)))[..., 0]
    noise = np.asarray(jax.random.uniform(key, y.shape, jnp.float32, -1.0, 1.0))
    return np.where(known, y, noise)


def class_mass(mix, y, c):
    r"""On the labelled mixture: the fraction of samples ``y`` (n, d) whose most probable class is
    ``c``, and the mean of :math:`p(c\mid y)` (t = 0). Returns two floats."""
    mass, soft = _class_mass(mix, jnp.asarray(y), c)
    return float(mass), float(soft)


@eqx.filter_jit
def _class_mass(mix, y, c):
    p = jnp.exp(jax.vmap(lambda y: mix.log_prob_class(y, 0.0, c))(y))
    return jnp.mean(mix.class_of(y) == c), jnp.mean(p)


def mean_gap(a, b):
    r"""The largest coordinate gap between the means of two independent sample sets (n, d), and
    that gap in standard errors, :math:`|\bar a_j-\bar b_j|/\sqrt{s_{a,j}^2/n_a+s_{b,j}^2/n_b}`."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    se = np.sqrt(a.var(0) / len(a) + b.var(0) / len(b))
    gap = np.abs(a.mean(0) - b.mean(0))
    j = int(np.argmax(gap))
    return float(gap[j]), float(gap[j] / se[j])
