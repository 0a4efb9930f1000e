"""Bad input at every public boundary: a ValueError whose message names the argument.

A table, module -> public function -> (argument, how to call the function with a bad value of
it, a hypothesis strategy of bad values). Hypothesis draws the bad values (the conftest's profile
fixes the examples). To cover another module, add its entry to ``TABLE``: the coverage test then
requires every public function of it to be in the table or in ``NOTHING_TO_CHECK`` with a reason.
"""

import inspect
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from diffcourse import (
    checkpoint,
    ddpm,
    elbo,
    fokker_planck,
    heat,
    losses,
    metrics,
    populations,
    random_walk,
    reverse,
    samplers,
    schedules,
    sde,
    train,
)
from diffcourse.data import images
from diffcourse.nets import embedding, mlp, precond, unet

# --------------------------------------------------------------------------------------------
# bad values


def _arrays(*shapes):
    return st.sampled_from([np.zeros(s) for s in shapes])


junk = st.sampled_from([None, "3", b"x", object(), [1, "a"], {"a": 1}])
not_int = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), junk, _arrays((2,))
)
bad_positive_int = st.one_of(st.integers(max_value=0), st.integers(-(2**70), 0), not_int)
bad_nonneg_int = st.one_of(st.integers(max_value=-1), not_int)
non_finite = st.sampled_from([math.nan, math.inf, -math.inf])
not_real = st.one_of(non_finite, st.booleans(), junk, _arrays((2,), (1, 1)))
bad_positive_real = st.one_of(st.floats(max_value=0.0), not_real)
bad_nonneg_real = st.one_of(st.floats(max_value=-1e-300, exclude_max=False), not_real)
bad_unit = st.one_of(st.floats(min_value=1.0), st.floats(max_value=-1e-12), not_real)
bad_key = st.one_of(st.integers(), st.none(), _arrays((), (3,), (2, 2)), junk)
bad_path = st.sampled_from([None, 3, 2.5, b"", "", ["a"]])
bad_flag = st.sampled_from([None, 1, 0, "yes", 1.0, np.ones(2)])
bad_callable = st.sampled_from([None, 3, "f", np.ones(2)])
bad_meta = st.sampled_from(
    ["3", b"x", [1, "a"], {"a": object()}, {"x": math.nan}, {"x": -math.inf}]
)
nan_array = st.builds(
    lambda n, i: np.where(np.arange(n) == i % n, np.nan, 0.0), st.integers(1, 6), st.integers(0, 5)
)


def _images(shape_ok=(4, 8, 8)):
    return st.one_of(
        junk,
        _arrays((8, 8), (8,), (2, 2, 8, 8, 3), (0, 8, 8), (4, 0, 8)),
        st.just(np.full(shape_ok, np.nan)),
        st.just(np.full(shape_ok, "a")),
    )


bad_probs = st.one_of(
    junk,
    _arrays((10,), (0, 10), (3, 1)),
    st.just(np.full((3, 10), 0.5)),  # rows sum to 5
    st.just(np.full((3, 10), -0.1)),
    st.just(np.where(np.eye(3, 10) > 0, np.nan, 0.0)),
)

# --------------------------------------------------------------------------------------------
# fixtures the calls need


class W(eqx.Module):
    w: jax.Array


MODEL = W(jnp.zeros(3))
LOSS = lambda m, k, b: jnp.mean((b - m.w) ** 2)  # noqa: E731
DATA = np.zeros((8, 3))
CFG = train.TrainConfig(steps=1, batch_size=4)
OPT = train.optimizer(CFG)
KEY = jax.random.key(0)
CLF = metrics.Classifier(KEY, 64, hidden=(4,))
IMAGES = np.zeros((4, 8, 8))
PROBS = np.full((3, 10), 0.1)
SCORES3 = np.array([6.1, 6.4, 6.0])  # one score per seed, for metrics.compare
_pairs_bad = st.sampled_from(
    [(1.0, -1.0), (1.0,), (1.0, 2.0, 3.0), "ab", (np.nan, 1.0), (1.0, np.inf)]
)
bad_scores = st.one_of(
    junk,
    _arrays((), (0,), (1,), (1, 1), (2, 2, 2)),  # fewer than 2 replicates, or 0 or 3 axes
    st.just(np.array([1.0, np.nan, 2.0])),
    st.just(np.array([[1.0, np.inf], [0.0, 1.0]])),
)


def fit(**kw):
    args = dict(key=KEY, model=MODEL, loss_fn=LOSS, data=DATA, config=CFG, progress=False)
    return train.fit(**{**args, **kw})


def cfg(**kw):
    return train.TrainConfig(**{"steps": 1, **kw})


_TMP = None


def _tmp():
    """One scratch folder for the whole module (bad calls write nothing in it)."""
    global _TMP
    if _TMP is None:
        import tempfile

        _TMP = tempfile.mkdtemp(prefix="diffcourse-validation-")
    return _TMP


# --------------------------------------------------------------------------------------------
# the table: module -> function -> [(argument, call(bad), strategy)]

TABLE = {
    train: {
        "TrainConfig": [
            ("steps", lambda v: cfg(steps=v), bad_positive_int),
            ("batch_size", lambda v: cfg(batch_size=v), bad_positive_int),
            ("log_every", lambda v: cfg(log_every=v), bad_positive_int),
            ("warmup", lambda v: cfg(warmup=v), bad_nonneg_int),
            ("checkpoint_every", lambda v: cfg(checkpoint_every=v), bad_nonneg_int),
            ("seed", lambda v: cfg(seed=v), bad_nonneg_int),
            ("lr", lambda v: cfg(lr=v), bad_positive_real),
            ("clip_norm", lambda v: cfg(clip_norm=v), bad_positive_real),
            ("weight_decay", lambda v: cfg(weight_decay=v), bad_nonneg_real),
            ("ema_decay", lambda v: cfg(ema_decay=v), bad_unit),
            ("lr_decay_steps", lambda v: cfg(lr_decay_steps=v), bad_nonneg_int),
            ("lr_decay_steps", lambda v: cfg(warmup=10, lr_decay_steps=v), st.integers(1, 10)),
        ],
        "optimizer": [("config", train.optimizer, junk)],
        "lr_schedule": [("config", train.lr_schedule, junk)],
        "init_state": [
            (
                "model",
                lambda v: train.init_state(v, OPT),
                st.sampled_from([W(None), W(jnp.arange(3))]),
            ),
            ("opt", lambda v: train.init_state(MODEL, v), junk),
        ],
        "unflatten": [
            ("model", lambda v: train.unflatten(v, jnp.zeros(3)), st.sampled_from([W(None), 3])),
            (
                "flat",
                lambda v: train.unflatten(W(jnp.zeros(3)), v),
                st.sampled_from([jnp.zeros(2), jnp.zeros((3, 1)), None, "a"]),
            ),
        ],
        "data_mesh": [("devices", train.data_mesh, st.sampled_from([[], [1, 2], "cpu", 3]))],
        "make_step": [
            (
                "ema_decay",
                lambda v: train.make_step(MODEL, LOSS, OPT, v, train.data_mesh()),
                bad_unit,
            ),
            (
                "loss_fn",
                lambda v: train.make_step(MODEL, v, OPT, 0.9, train.data_mesh()),
                bad_callable,
            ),
            ("mesh", lambda v: train.make_step(MODEL, LOSS, OPT, 0.9, v), junk),
            ("opt", lambda v: train.make_step(MODEL, LOSS, v, 0.9, train.data_mesh()), junk),
        ],
        "batch_indices": [
            ("n_data", lambda v: train.batch_indices(v, 1, 0, 0), bad_positive_int),
            ("batch_size", lambda v: train.batch_indices(8, v, 0, 0), bad_positive_int),
            ("batch_size", lambda v: train.batch_indices(8, v, 0, 0), st.integers(9, 100)),
            ("seed", lambda v: train.batch_indices(8, 2, v, 0), bad_nonneg_int),
            ("step", lambda v: train.batch_indices(8, 2, 0, v), bad_nonneg_int),
        ],
        "save_checkpoint": [
            ("path", lambda v: train.save_checkpoint(v, {"a": 1.0}), bad_path),
            (
                "meta",
                lambda v: train.save_checkpoint(_tmp(), {"a": 1.0}, v),
                bad_meta,
            ),
        ],
        "read_meta": [("path", train.read_meta, bad_path)],
        "load_checkpoint": [("path", lambda v: train.load_checkpoint(v, {}), bad_path)],
        "check_resumable": [
            ("out_dir", lambda v: train.check_resumable(v, {"config": {}}), bad_path),
            ("stored", lambda v: train.check_resumable(_tmp(), v), junk),
        ],
        "fit": [
            ("key", lambda v: fit(key=v), bad_key),
            ("config", lambda v: fit(config=v), junk),
            ("loss_fn", lambda v: fit(loss_fn=v), bad_callable),
            (
                "data",
                lambda v: fit(data=v),
                st.one_of(
                    junk.filter(lambda x: x is not None),
                    nan_array.map(lambda a: np.tile(a[:, None], (4, 3))),
                ),
            ),
            ("data", lambda v: fit(data=v), st.just((np.zeros((8, 3)), np.zeros(5)))),
            ("batch_size", lambda v: fit(data=v), st.just(np.zeros((2, 3)))),
            ("resume", lambda v: fit(resume=v), bad_flag),
            ("restart", lambda v: fit(restart=v), bad_flag),
            ("out_dir", lambda v: fit(out_dir=v), st.sampled_from([3, 2.5, ["a"]])),
            (
                "meta",
                lambda v: fit(meta=v),
                bad_meta,
            ),
        ],
    },
    checkpoint: {
        "encode_meta": [("meta", checkpoint.encode_meta, bad_meta)],
        "encode": [("meta", lambda v: checkpoint.encode({"a": 1.0}, v), bad_meta)],
        "write_atomic": [
            ("path", lambda v: checkpoint.write_atomic(v, b""), bad_path),
            (
                "data",
                lambda v: checkpoint.write_atomic(_tmp() + "/f", v),
                st.sampled_from([None, "s", 3]),
            ),
        ],
        "save": [
            ("path", lambda v: checkpoint.save(v, {}), bad_path),
            (
                "previous",
                lambda v: checkpoint.save(_tmp() + "/c", {}, previous=v),
                st.sampled_from([3, "/elsewhere/p", ["a"]]),
            ),
        ],
        "verify": [("path", checkpoint.verify, bad_path)],
        "read_meta": [("path", checkpoint.read_meta, bad_path)],
        "load": [("path", lambda v: checkpoint.load(v, {}), bad_path)],
        "load_model": [
            ("path", lambda v: checkpoint.load_model(v, lambda m: {}), bad_path),
            ("build", lambda v: checkpoint.load_model(_tmp(), v), bad_callable),
        ],
    },
    images: {
        "to_unit_range": [
            ("max_value", lambda v: images.to_unit_range(np.zeros(3), v), bad_positive_real),
            (
                "pixels",
                lambda v: images.to_unit_range(v, 16.0),
                st.one_of(
                    junk,
                    _arrays((0,)),
                    nan_array,
                    st.just(np.array([-1, 3])),
                    st.just(np.array([17.0])),
                ),
            ),
        ],
        "load_digits": [("split", images.load_digits, st.one_of(junk, st.text(max_size=4)))],
        "read_idx": [("path", images.read_idx, bad_path)],
        "load_idx_images": [
            ("images_path", images.load_idx_images, bad_path),
            (
                "labels_path",
                lambda v: images.load_idx_images(__file__, v),
                st.sampled_from([3, "/none"]),
            ),
        ],
        "write_idx": [
            ("path", lambda v: images.write_idx(v, np.zeros(2, np.uint8)), bad_path),
            (
                "path",
                lambda v: images.write_idx(v, np.zeros(2, np.uint8)),
                st.just("/nonexistent/d/f"),
            ),
            (
                "array",
                lambda v: images.write_idx(_tmp() + "/f", v),
                st.sampled_from([np.zeros(2, np.int64), np.zeros(2, bool), np.zeros(()), "a"]),
            ),
        ],
    },
    metrics: {
        "write_digits_classifier": [("path", metrics.write_digits_classifier, bad_path)],
        "Classifier": [
            ("key", lambda v: metrics.Classifier(v, 4), bad_key),
            ("n_in", lambda v: metrics.Classifier(KEY, v), bad_positive_int),
            (
                "hidden",
                lambda v: metrics.Classifier(KEY, 4, hidden=v),
                st.sampled_from([(), (0,), "ab", 3, (2.5,)]),
            ),
            (
                "n_classes",
                lambda v: metrics.Classifier(KEY, 4, n_classes=v),
                st.one_of(st.integers(max_value=1), not_int),
            ),
        ],
        "fit_classifier": [
            ("images", lambda v: metrics.fit_classifier(v, np.zeros(4, int), steps=1), _images()),
            (
                "labels",
                lambda v: metrics.fit_classifier(IMAGES, v, steps=1),
                st.sampled_from(
                    [np.zeros(3, int), np.full(4, 37), np.full(4, -1), np.zeros(4), "a"]
                ),
            ),
            (
                "steps",
                lambda v: metrics.fit_classifier(IMAGES, np.zeros(4, int), steps=v),
                bad_positive_int,
            ),
            (
                "lr",
                lambda v: metrics.fit_classifier(IMAGES, np.zeros(4, int), steps=1, lr=v),
                bad_positive_real,
            ),
            (
                "seed",
                lambda v: metrics.fit_classifier(IMAGES, np.zeros(4, int), steps=1, seed=v),
                bad_nonneg_int,
            ),
        ],
        "features": [
            (
                "images",
                lambda v: metrics.features(v, CLF),
                st.one_of(_images(), _arrays((3, 28, 28))),
            ),
            ("clf", lambda v: metrics.features(IMAGES, v), junk.filter(lambda x: x is not None)),
        ],
        "probabilities": [
            (
                "images",
                lambda v: metrics.probabilities(v, CLF),
                st.one_of(_images(), _arrays((3, 28, 28))),
            ),
            (
                "clf",
                lambda v: metrics.probabilities(IMAGES, v),
                junk.filter(lambda x: x is not None),
            ),
        ],
        "frechet_distance": [
            (
                "feat_a",
                lambda v: metrics.frechet_distance(v, np.zeros((5, 3))),
                st.one_of(junk, _arrays((5,)), st.just(np.full((5, 3), np.nan))),
            ),
            (
                "feat_b",
                lambda v: metrics.frechet_distance(np.zeros((5, 3)), v),
                st.one_of(junk, _arrays((5,)), st.just(np.full((5, 3), np.inf))),
            ),
        ],
        "confidence": [("probs", metrics.confidence, bad_probs)],
        "class_entropy": [("probs", metrics.class_entropy, bad_probs)],
        "nearest_neighbour_distance": [
            (
                "x",
                lambda v: metrics.nearest_neighbour_distance(v, IMAGES),
                st.one_of(_images(), _arrays((8, 8))),
            ),
            (
                "train",
                lambda v: metrics.nearest_neighbour_distance(IMAGES, v),
                st.one_of(_images(), _arrays((3, 4, 4))),
            ),
            (
                "index",
                lambda v: metrics.nearest_neighbour_distance(IMAGES, IMAGES, index=v),
                bad_flag,
            ),
        ],
        "reference_samples": [
            ("train", lambda v: metrics.reference_samples(v, IMAGES), _arrays((3,), (0, 8))),
            ("heldout", lambda v: metrics.reference_samples(IMAGES, v), _arrays((3,), (0, 8))),
            ("n", lambda v: metrics.reference_samples(IMAGES, IMAGES, v), bad_positive_int),
        ],
        "benchmark_result": [
            (
                "name",
                metrics.benchmark_result,
                st.sampled_from(["", "../README", "a/b", ".hidden", "sampler_curve.json", 3, None]),
            )
        ],
        "scores_by_seed": [
            ("make", lambda v: metrics.scores_by_seed(v), bad_callable),
            (
                "seeds",
                lambda v: metrics.scores_by_seed(lambda s: IMAGES, seeds=v),
                st.sampled_from([(), (-1,), (0.5,), "01", 3, None, (True,)]),
            ),
        ],
        "score_over_seeds": [
            ("make", lambda v: metrics.score_over_seeds(v), bad_callable),
            (
                "seeds",
                lambda v: metrics.score_over_seeds(lambda s: IMAGES, seeds=v),
                st.sampled_from([(), (-1,), (0.5,), "01", 3, None, (True,)]),
            ),
        ],
        "format_table": [
            (
                "rows",
                metrics.format_table,
                st.one_of(
                    junk,
                    st.sampled_from([{}, {"a": 1.0}, {"a": {"fd": 1.0}}, {"a": {}}]),
                ),
            )
        ],
        "memorised_fraction": [
            (
                "samples",
                lambda v: metrics.memorised_fraction(v, IMAGES, IMAGES),
                _arrays((3,), (0, 8)),
            ),
            (
                "train",
                lambda v: metrics.memorised_fraction(IMAGES, v, IMAGES),
                _arrays((3,), (0, 8)),
            ),
            ("reference", lambda v: metrics.memorised_fraction(IMAGES, IMAGES, v), _arrays((3,))),
            (
                "q",
                lambda v: metrics.memorised_fraction(IMAGES, IMAGES, IMAGES, q=v),
                bad_unit.filter(lambda x: not (isinstance(x, float) and x == 0.0)),
            ),
        ],
        "evaluate": [
            ("images", lambda v: metrics.evaluate(v, train=IMAGES, clf=CLF), _images()),
            (
                "train",
                lambda v: metrics.evaluate(IMAGES, train=v, clf=CLF),
                _images().filter(lambda x: x is not None),
            ),
            (
                "reference",
                lambda v: metrics.evaluate(IMAGES, reference=v, train=IMAGES, clf=CLF),
                _images().filter(lambda x: x is not None),
            ),
            (
                "clf",
                lambda v: metrics.evaluate(IMAGES, train=IMAGES, clf=v),
                junk.filter(lambda x: x is not None),
            ),
        ],
        "compare": [
            ("a_scores", lambda v: metrics.compare(v, SCORES3), bad_scores),
            ("b_scores", lambda v: metrics.compare(SCORES3, v), bad_scores),
            (
                "b_scores",
                lambda v: metrics.compare(SCORES3, v, paired=True),
                _arrays((4,), (2,), (3, 2)),
            ),
            (
                "names",
                lambda v: metrics.compare(SCORES3, SCORES3, names=v),
                st.sampled_from([("a",), ("a", ""), "ab", ("a", 3), None, ("a", "b", "c")]),
            ),
            (
                "paired",
                lambda v: metrics.compare(SCORES3, SCORES3, paired=v),
                bad_flag.filter(lambda x: x is not None),
            ),
            (
                "unit",
                lambda v: metrics.compare(SCORES3, SCORES3, unit=v),
                st.sampled_from(["", "  ", 3, ("digits",)]),
            ),
        ],
        "compare_summaries": [
            ("a", lambda v: metrics.compare_summaries(v, (1.0, 1.0), 3), _pairs_bad),
            ("b", lambda v: metrics.compare_summaries((1.0, 1.0), v, 3), _pairs_bad),
            (
                "n",
                lambda v: metrics.compare_summaries((1.0, 1.0), (1.0, 1.0), v),
                st.sampled_from([1, 0, -2, 2.5, "3", None]),
            ),
        ],
    },
    unet: {
        "UNet": [
            ("key", lambda v: unet.UNet(v, channels=4, groups=2), bad_key),
            ("in_channels", lambda v: unet.UNet(KEY, in_channels=v), bad_positive_int),
            ("channels", lambda v: unet.UNet(KEY, channels=v, groups=1), bad_positive_int),
            ("channels", lambda v: unet.UNet(KEY, channels=v, groups=1), st.integers(2049, 10**9)),
            (
                "channel_mults",
                lambda v: unet.UNet(KEY, channel_mults=v),
                st.sampled_from([(), (1, 0), (1, -1), "12", 2, (1.5,)]),
            ),
            ("blocks", lambda v: unet.UNet(KEY, blocks=v), bad_nonneg_int),
            ("attention", lambda v: unet.UNet(KEY, attention=v), bad_flag),
            (
                "groups",
                lambda v: unet.UNet(KEY, groups=v),
                st.one_of(bad_positive_int, st.sampled_from([3, 5, 7, 64])),
            ),
            ("n_classes", lambda v: unet.UNet(KEY, n_classes=v), bad_nonneg_int),
        ],
        "GroupNorm": [
            ("channels", lambda v: unet.GroupNorm(v, 1), bad_positive_int),
            ("groups", lambda v: unet.GroupNorm(8, v), st.one_of(bad_positive_int, st.just(3))),
        ],
    },
}

# Public names with nothing to check, and why.
NOTHING_TO_CHECK = {
    train: {
        "quick_mode": "no arguments",
        "TrainResult": "a result record fit builds",
        "CheckpointError": "an exception class",
        "ResumeError": "an exception class",
    },
    checkpoint: {"CheckpointError": "an exception class"},
    images: {},
    unet: {
        "group_norm": "traced inside the network: shapes are fixed by GroupNorm's constructor",
        "group_norm_silu": "as group_norm",
        "Conv": "an internal layer built by UNet from checked arguments",
        "Linear": "as Conv",
        "ResBlock": "as Conv",
        "Attention": "as Conv",
        "n_params": "counts the leaves of any pytree",
    },
    metrics: {
        "gaussian_baseline": "checked by metrics (train, n, seed); its table entry is metrics' owner's",
        "digits_classifier": "no arguments",
        "heldout_reference": "no arguments",
        "Comparison": "a result record compare builds",
    },
}

# --------------------------------------------------------------------------------------------
# the mathematical modules (issue 14): every public function, method and constructor

D2 = populations.mcallester_d2()
G1 = populations.mcallester_g1()
RULE = elbo.eps_quadrature(3, 2)
DEN = lambda z, t: 0.0 * z  # noqa: E731  one-sample denoiser (never compiled here)
LOGP = lambda z: 0.0 * jnp.sum(z)  # noqa: E731
TS = np.array([0.1, 1.0, 10.0])
MLP_NET = mlp.MLP(KEY, 2, width=4, depth=1, t_dim=4)
PRE = precond.Preconditioned(MLP_NET, shape=(2,))
LU = losses.LogUniform()
AB = np.linspace(0.99, 0.01, 20)

bad_data = st.one_of(junk, st.just(np.full(3, "a")))
bad_times = st.one_of(st.floats(max_value=0.0).map(lambda x: np.array([1.0, x])), bad_positive_real)
bad_unit_array = st.one_of(
    st.sampled_from([np.array([0.5, 1.0]), np.array([0.0]), np.array([np.nan]), 1.5, -0.1]),
    junk,
)
bad_grid_inc = st.sampled_from(
    [np.array([1.0, 0.5]), np.array([0.0, 1.0]), np.array([1.0]), np.array([1.0, 1.0]), "a"]
)
bad_grid_dec = st.sampled_from(
    [np.array([0.5, 1.0]), np.array([1.0]), np.array([1.0, -1.0]), np.array([np.nan, 0.0]), "a"]
)
bad_model = st.sampled_from([None, 3, "f"])
bad_z2 = st.one_of(bad_data, _arrays((3,), (1,), (4, 2), ()))


def _ds(**kw):
    args = dict(model=PRE, y=np.zeros((2, 2)), t=np.ones(2), eps=np.zeros((2, 2)))
    return losses.dsm_terms(**{**args, **kw})


MATH = {
    populations: {
        "FinitePop": [
            ("points", populations.FinitePop, st.one_of(bad_data, _arrays((3,)), nan_array)),
            (
                "weights",
                lambda v: populations.FinitePop(np.zeros((2, 1)), v),
                st.sampled_from([np.array([0.5, 0.6]), np.array([1.5, -0.5]), np.ones(3), "a"]),
            ),
        ],
        "FinitePop.sample": [
            ("key", lambda v: D2.sample(v, 2), bad_key),
            ("n", lambda v: D2.sample(KEY, v), bad_positive_int),
        ],
        "FinitePop.sample_pt": [
            ("key", lambda v: D2.sample_pt(v, 2, 0.5), bad_key),
            ("n", lambda v: D2.sample_pt(KEY, v, 0.5), bad_positive_int),
            ("t", lambda v: D2.sample_pt(KEY, 2, v), bad_positive_real),
        ],
        "FinitePop.score": [
            ("z", lambda v: D2.score(v, 0.5), bad_z2),
            ("t", lambda v: D2.score(np.zeros(2), v), bad_positive_real),
        ],
        "FinitePop.responsibilities": [("z", lambda v: D2.responsibilities(v, 0.5), bad_z2)],
        "FinitePop.log_density": [("z", lambda v: D2.log_density(v, 0.5), bad_z2)],
        "FinitePop.posterior_mean": [("z", lambda v: D2.posterior_mean(v, 0.5), bad_z2)],
        "FinitePop.posterior_cov": [
            ("t", lambda v: D2.posterior_cov(np.zeros(2), v), bad_positive_real)
        ],
        "FinitePop.marginal_cdf": [
            (
                "axis",
                lambda v: D2.marginal_cdf(0.3, 0.5, axis=v),
                st.one_of(bad_nonneg_int, st.integers(2, 99)),
            ),
            ("x", lambda v: D2.marginal_cdf(v, 0.5), st.one_of(bad_data, _arrays((2,)))),
            ("t", lambda v: D2.marginal_cdf(0.3, v), bad_positive_real),
        ],
        "GaussianMixture": [
            (
                "means",
                lambda v: populations.GaussianMixture(np.ones(1), v, np.ones((1, 1))),
                st.one_of(bad_data, _arrays((2,)), st.just(np.full((1, 1), np.nan))),
            ),
            (
                "weights",
                lambda v: populations.GaussianMixture(v, np.zeros((1, 1)), np.ones((1, 1))),
                st.sampled_from([np.array([0.5]), np.ones(2) / 2, "a"]),
            ),
            (
                "covs",
                lambda v: populations.GaussianMixture(np.ones(1), np.zeros((1, 1)), v),
                st.sampled_from([np.zeros((1, 1)), np.ones((1, 2)), np.full((1, 1), np.nan), "a"]),
            ),
        ],
        "GaussianMixture.sample": [
            ("key", lambda v: G1.sample(v, 2), bad_key),
            ("n", lambda v: G1.sample(KEY, v), bad_positive_int),
        ],
        "GaussianMixture.sample_pt": [
            ("key", lambda v: G1.sample_pt(v, 2, 0.5), bad_key),
            ("t", lambda v: G1.sample_pt(KEY, 2, v), bad_nonneg_real),
        ],
        "GaussianMixture.score": [
            ("z", lambda v: G1.score(v, 0.5), st.one_of(bad_data, _arrays((3,), (2, 1), ()))),
            ("t", lambda v: G1.score(np.zeros(1), v), bad_nonneg_real),
        ],
        "GaussianMixture.responsibilities": [
            ("z", lambda v: G1.responsibilities(v, 0.5), _arrays((3,)))
        ],
        "GaussianMixture.log_density": [
            ("t", lambda v: G1.log_density(np.zeros(1), v), bad_nonneg_real)
        ],
        "GaussianMixture.posterior_mean": [
            ("z", lambda v: G1.posterior_mean(v, 0.5), _arrays((2,)))
        ],
        "GaussianMixture.posterior_cov": [("z", lambda v: G1.posterior_cov(v, 0.5), _arrays((0,)))],
        "GaussianMixture.marginal_cdf": [
            (
                "axis",
                lambda v: G1.marginal_cdf(0.3, 0.5, axis=v),
                st.one_of(bad_nonneg_int, st.integers(1, 99)),
            ),
        ],
        "fraction_within": [
            (
                "pop",
                lambda v: populations.fraction_within(v, np.zeros((2, 1))),
                st.sampled_from([D2, None, 3]),
            ),
            (
                "y",
                lambda v: populations.fraction_within(G1, v),
                st.one_of(bad_data, _arrays((2,), (2, 2))),
            ),
            (
                "k",
                lambda v: populations.fraction_within(G1, np.zeros((2, 1)), v),
                bad_positive_real,
            ),
        ],
        "posterior_mean_quadrature": [
            (
                "y",
                lambda v: populations.posterior_mean_quadrature(v, np.ones(3), np.zeros(2), 0.5),
                st.one_of(bad_data, _arrays((1,), (3, 1))),
            ),
            (
                "pop_pdf",
                lambda v: populations.posterior_mean_quadrature(
                    np.arange(3.0), v, np.zeros(2), 0.5
                ),
                st.one_of(bad_data, _arrays((2,)), st.just(-np.ones(3))),
            ),
            (
                "z",
                lambda v: populations.posterior_mean_quadrature(np.arange(3.0), np.ones(3), v, 0.5),
                st.one_of(bad_data, _arrays((2, 2))),
            ),
            (
                "t",
                lambda v: populations.posterior_mean_quadrature(
                    np.arange(3.0), np.ones(3), np.zeros(2), v
                ),
                bad_positive_real,
            ),
        ],
        "binned_mean": [
            (
                "z",
                lambda v: populations.binned_mean(v, np.zeros(3), np.arange(3.0)),
                st.one_of(bad_data, _arrays((3, 2))),
            ),
            (
                "y",
                lambda v: populations.binned_mean(np.zeros(3), v, np.arange(3.0)),
                st.one_of(bad_data, _arrays((2,))),
            ),
            (
                "edges",
                lambda v: populations.binned_mean(np.zeros(3), np.zeros(3), v),
                bad_grid_inc.filter(lambda x: not (isinstance(x, np.ndarray) and x[0] == 0.0)),
            ),
        ],
        "denoiser_mse": [
            (
                "denoiser",
                lambda v: populations.denoiser_mse(v, np.zeros((2, 2)), np.zeros((2, 2)), 0.5),
                bad_callable,
            ),
            (
                "y",
                lambda v: populations.denoiser_mse(DEN, v, np.zeros((2, 2)), 0.5),
                st.one_of(bad_data, _arrays((2,))),
            ),
            (
                "z",
                lambda v: populations.denoiser_mse(DEN, np.zeros((2, 2)), v, 0.5),
                st.one_of(bad_data, _arrays((3, 2))),
            ),
            (
                "t",
                lambda v: populations.denoiser_mse(DEN, np.zeros((2, 2)), np.zeros((2, 2)), v),
                bad_positive_real,
            ),
        ],
        "tweedie_residual": [
            (
                "pop",
                lambda v: populations.tweedie_residual(v, np.zeros((2, 2)), np.ones(2)),
                bad_model,
            ),
            (
                "z",
                lambda v: populations.tweedie_residual(D2, v, np.ones(2)),
                st.one_of(bad_data, _arrays((2,), (2, 3))),
            ),
            (
                "t",
                lambda v: populations.tweedie_residual(D2, np.zeros((2, 2)), v),
                st.one_of(bad_data, _arrays((3,)), st.just(np.array([1.0, 0.0]))),
            ),
        ],
        "heat_residual": [
            ("pop", lambda v: populations.heat_residual(v, np.zeros((2, 2)), 0.5), bad_model),
            (
                "z",
                lambda v: populations.heat_residual(D2, v, 0.5),
                st.one_of(bad_data, _arrays((2,))),
            ),
            ("t", lambda v: populations.heat_residual(D2, np.zeros((2, 2)), v), bad_positive_real),
        ],
        "nearest_component": [
            (
                "pop",
                lambda v: populations.nearest_component(v, np.zeros((2, 2))),
                st.sampled_from([D2, None]),
            ),
            (
                "y",
                lambda v: populations.nearest_component(G1, v),
                st.one_of(bad_data, _arrays((2, 2))),
            ),
        ],
        "goodness_of_fit": [
            ("pop", lambda v: populations.goodness_of_fit(v, np.zeros((3, 2)), 0.5), bad_model),
            (
                "z",
                lambda v: populations.goodness_of_fit(D2, v, 0.5),
                st.one_of(bad_data, _arrays((3,), (1, 2), (3, 3))),
            ),
            ("t", lambda v: populations.goodness_of_fit(D2, np.zeros((3, 2)), v), bad_nonneg_real),
        ],
    },
    schedules: {
        "linear_betas": [
            ("T", schedules.linear_betas, bad_positive_int),
            ("beta_start", lambda v: schedules.linear_betas(10, v), bad_unit),
            ("beta_end", lambda v: schedules.linear_betas(10, 1e-4, v), bad_unit),
        ],
        "cosine_alphabar": [
            (
                "k",
                lambda v: schedules.cosine_alphabar(v, 10),
                st.one_of(bad_data, st.sampled_from([-1.0, 11.0, np.nan, np.array([5.0, 20.0])])),
            ),
            ("T", lambda v: schedules.cosine_alphabar(1.0, v), bad_positive_int),
            ("offset", lambda v: schedules.cosine_alphabar(1.0, 10, v), bad_positive_real),
        ],
        "cosine_betas": [
            ("T", schedules.cosine_betas, bad_positive_int),
            ("offset", lambda v: schedules.cosine_betas(10, v), bad_positive_real),
            ("max_beta", lambda v: schedules.cosine_betas(10, max_beta=v), bad_unit),
        ],
        "alphas": [("betas", schedules.alphas, st.one_of(bad_unit_array, _arrays((0,))))],
        "alphabars": [("betas", schedules.alphabars, st.one_of(bad_unit_array, _arrays((0,))))],
        "snr": [("alphabar", schedules.snr, bad_unit_array)],
        "q_step_mean_var": [
            (
                "x_prev",
                lambda v: schedules.q_step_mean_var(v, 0.1),
                st.one_of(bad_data, _arrays((0,))),
            ),
            (
                "beta",
                lambda v: schedules.q_step_mean_var(np.zeros(3), v),
                st.one_of(bad_unit_array, st.just(np.full(2, 0.1))),
            ),
        ],
        "q_step": [
            ("key", lambda v: schedules.q_step(v, np.zeros(3), 0.1), bad_key),
            ("x_prev", lambda v: schedules.q_step(KEY, v, 0.1), bad_data),
        ],
        "q_step_density": [
            (
                "x",
                lambda v: schedules.q_step_density(v, np.zeros(3), 0.1),
                st.one_of(bad_data, _arrays((2,), (0,))),
            ),
            (
                "x_prev",
                lambda v: schedules.q_step_density(np.zeros(3), v, 0.1),
                st.one_of(bad_data, _arrays((2,))),
            ),
        ],
        "q_step_push": [
            (
                "x",
                lambda v: schedules.q_step_push(v, 0.1, np.arange(3.0), np.ones(3)),
                st.one_of(bad_data, _arrays((2, 2))),
            ),
            (
                "beta",
                lambda v: schedules.q_step_push(0.0, v, np.arange(3.0), np.ones(3)),
                st.one_of(bad_unit_array, st.just(np.full(2, 0.1))),
            ),
            (
                "x_prev",
                lambda v: schedules.q_step_push(0.0, 0.1, v, np.ones(2)),
                bad_grid_inc.filter(lambda x: not (isinstance(x, np.ndarray) and x[0] == 0.0)),
            ),
            (
                "p_prev",
                lambda v: schedules.q_step_push(0.0, 0.1, np.arange(3.0), v),
                st.one_of(
                    bad_data,
                    _arrays((2,)),
                    st.just(-np.ones(3)),
                    st.just(np.array([1.0, np.nan, 1.0])),
                ),
            ),
        ],
        "q_sample": [
            ("key", lambda v: schedules.q_sample(v, np.zeros(3), 0.5), bad_key),
            ("x0", lambda v: schedules.q_sample(KEY, v, 0.5), bad_data),
            (
                "alphabar",
                lambda v: schedules.q_sample(KEY, np.zeros(3), v),
                st.one_of(bad_unit_array, st.just(np.full(2, 0.5))),
            ),
        ],
        "ddpm_posterior": [
            (
                "x0",
                lambda v: schedules.ddpm_posterior(v, np.zeros(3), 0.5, 0.6),
                st.one_of(bad_data, _arrays((2,))),
            ),
            (
                "x_t",
                lambda v: schedules.ddpm_posterior(np.zeros(3), v, 0.5, 0.6),
                st.one_of(bad_data, _arrays((2,))),
            ),
            (
                "alphabar_t",
                lambda v: schedules.ddpm_posterior(0.0, 0.0, v, 0.6),
                st.one_of(bad_unit_array, st.just(0.7)),
            ),
            (
                "alphabar_prev",
                lambda v: schedules.ddpm_posterior(0.0, 0.0, 0.5, v),
                st.sampled_from([0.0, 1.5, np.nan, "a", None]),
            ),
        ],
        "ve_time": [
            (
                "alphabar",
                schedules.ve_time,
                st.one_of(junk, st.sampled_from([0.0, 1.5, np.nan, -1.0])),
            )
        ],
        "alphabar_from_ve_time": [
            (
                "t",
                schedules.alphabar_from_ve_time,
                st.one_of(junk, st.sampled_from([-1.0, np.nan, np.inf, np.array([1.0, -1.0])])),
            )
        ],
        "x_to_z": [
            ("x", lambda v: schedules.x_to_z(v, 0.5), bad_data),
            (
                "alphabar",
                lambda v: schedules.x_to_z(np.zeros(3), v),
                st.one_of(junk, st.sampled_from([0.0, 2.0, np.full(2, 0.5)])),
            ),
        ],
        "z_to_x": [
            ("z", lambda v: schedules.z_to_x(v, 0.5), bad_data),
            (
                "alphabar",
                lambda v: schedules.z_to_x(np.zeros(3), v),
                st.sampled_from([0.0, 2.0, np.full(2, 0.5)]),
            ),
        ],
        "eps_to_denoiser": [
            (
                "eps",
                lambda v: schedules.eps_to_denoiser(v, np.zeros(3), 1.0),
                st.one_of(bad_data, _arrays((2,))),
            ),
            (
                "z",
                lambda v: schedules.eps_to_denoiser(np.zeros(3), v, 1.0),
                st.one_of(bad_data, _arrays((2,))),
            ),
            (
                "t",
                lambda v: schedules.eps_to_denoiser(np.zeros(3), np.zeros(3), v),
                st.one_of(bad_positive_real.filter(lambda x: np.size(x) != 2), st.just(np.ones(2))),
            ),
        ],
        "denoiser_to_eps": [
            (
                "yhat",
                lambda v: schedules.denoiser_to_eps(v, np.zeros(3), 1.0),
                st.one_of(bad_data, _arrays((2,), (0,))),
            )
        ],
        "denoiser_to_score": [
            (
                "t",
                lambda v: schedules.denoiser_to_score(np.zeros(3), np.zeros(3), v),
                st.sampled_from([0.0, -1.0, np.nan, np.ones(2), "a"]),
            )
        ],
        "score_to_denoiser": [
            (
                "score",
                lambda v: schedules.score_to_denoiser(v, np.zeros(3), 1.0),
                st.one_of(bad_data, _arrays((2,))),
            )
        ],
        "clock_grid": [
            (
                "schedule",
                lambda v: schedules.clock_grid(v, 10, 1e-3, 1.0),
                st.sampled_from(["sigmoid", None, 1]),
            ),
            (
                "n",
                lambda v: schedules.clock_grid("linear", v, 1e-3, 1.0),
                st.sampled_from([1, 0, -2, 2.5, "a"]),
            ),
            (
                "t_min",
                lambda v: schedules.clock_grid("linear", 10, v, 1.0),
                st.sampled_from([0.0, -1.0, np.nan, "a"]),
            ),
            (
                "t_max",
                lambda v: schedules.clock_grid("linear", 10, 1e-3, v),
                st.sampled_from([1e-4, np.inf, np.nan, "a"]),
            ),
        ],
        "betas_from_ve_times": [
            (
                "ts",
                schedules.betas_from_ve_times,
                st.sampled_from(
                    [np.array([1.0, 0.5]), np.array([-1.0, 1.0]), np.zeros((2, 2)), "a"]
                ),
            ),
        ],
        "eps_model_from_denoiser": [
            ("denoiser", schedules.eps_model_from_denoiser, bad_callable),
            (
                "alphabar",
                lambda v: schedules.eps_model_from_denoiser(DEN)(np.zeros(2), v),
                bad_unit_array,
            ),
        ],
    },
    elbo: {
        "eps_quadrature": [
            ("n", elbo.eps_quadrature, bad_positive_int),
            ("d", lambda v: elbo.eps_quadrature(2, v), bad_positive_int),
        ],
        "eps_monte_carlo": [
            ("key", lambda v: elbo.eps_monte_carlo(v, 2, 2), bad_key),
            ("n", lambda v: elbo.eps_monte_carlo(KEY, v, 2), bad_positive_int),
        ],
        "log_t_grid": [
            ("t_min", lambda v: elbo.log_t_grid(v, 1.0, 4), bad_positive_real),
            ("t_max", lambda v: elbo.log_t_grid(0.1, v, 4), bad_positive_real),
            ("n", lambda v: elbo.log_t_grid(0.1, 1.0, v), st.one_of(bad_positive_int, st.just(1))),
        ],
        "integrate_log_t": [
            (
                "f",
                lambda v: elbo.integrate_log_t(v, TS),
                st.one_of(bad_data, _arrays((2,), (1, 3))),
            ),
            (
                "ts",
                lambda v: elbo.integrate_log_t(np.ones(3), v),
                st.one_of(bad_grid_inc, st.just(np.array([10.0, 1.0, 0.1]))),
            ),
        ],
        "vlb_weight": [("t", elbo.vlb_weight, bad_times)],
        "denoising_error": [
            ("denoiser", lambda v: elbo.denoising_error(v, np.zeros(2), 0.5, RULE), bad_callable),
            (
                "y",
                lambda v: elbo.denoising_error(DEN, v, 0.5, RULE),
                st.one_of(bad_data, _arrays((0,), (2, 2))),
            ),
            ("t", lambda v: elbo.denoising_error(DEN, np.zeros(2), v, RULE), bad_positive_real),
            (
                "rule",
                lambda v: elbo.denoising_error(DEN, np.zeros(2), 0.5, v),
                st.sampled_from(
                    [None, 3, (np.zeros((3, 1)), np.ones(3) / 3), (np.zeros((3, 2)), np.ones(3))]
                ),
            ),
        ],
        "denoising_errors": [
            (
                "ts",
                lambda v: elbo.denoising_errors(DEN, np.zeros(2), v, RULE),
                st.one_of(bad_data, bad_times),
            ),
            ("denoiser", lambda v: elbo.denoising_errors(v, np.zeros(2), TS, RULE), bad_callable),
        ],
        "vlb_density_per_log_t": [
            (
                "ts",
                lambda v: elbo.vlb_density_per_log_t(DEN, np.zeros(2), v, RULE),
                st.one_of(bad_data, bad_times),
            )
        ],
        "log_pop_integrand": [
            (
                "y",
                lambda v: elbo.log_pop_integrand(DEN, v, 0.5, RULE),
                st.one_of(bad_data, _arrays((2, 2))),
            ),
            ("t", lambda v: elbo.log_pop_integrand(DEN, np.zeros(2), v, RULE), bad_positive_real),
        ],
        "expected_log_density": [
            (
                "log_density",
                lambda v: elbo.expected_log_density(v, np.zeros(2), 0.5, RULE),
                bad_callable,
            ),
            ("t", lambda v: elbo.expected_log_density(LOGP, np.zeros(2), v, RULE), bad_nonneg_real),
        ],
        "log_pop": [
            ("denoiser", lambda v: elbo.log_pop(v, LOGP, np.zeros(2), TS, RULE), bad_callable),
            ("log_p_T", lambda v: elbo.log_pop(DEN, v, np.zeros(2), TS, RULE), bad_callable),
            ("ts", lambda v: elbo.log_pop(DEN, LOGP, np.zeros(2), v, RULE), bad_grid_inc),
        ],
        "continuous_elbo": [
            (
                "log_prior",
                lambda v: elbo.continuous_elbo(DEN, v, np.zeros(2), TS, RULE),
                bad_callable,
            ),
            (
                "y",
                lambda v: elbo.continuous_elbo(DEN, LOGP, v, TS, RULE),
                st.one_of(bad_data, _arrays((2, 2))),
            ),
            (
                "decoder_var",
                lambda v: elbo.continuous_elbo(DEN, LOGP, np.zeros(2), TS, RULE, v),
                bad_positive_real.filter(lambda x: x is not None),
            ),
        ],
        "mutual_information": [
            (
                "ys",
                lambda v: elbo.mutual_information(DEN, v, np.ones(2) / 2, TS, RULE),
                st.one_of(bad_data, _arrays((2,))),
            ),
            (
                "y_weights",
                lambda v: elbo.mutual_information(DEN, np.zeros((2, 2)), v, TS, RULE),
                st.one_of(
                    bad_data,
                    bad_probs.filter(
                        lambda x: isinstance(x, np.ndarray) and x.ndim == 1 and x.dtype.kind == "f"
                    ),
                    st.just(np.ones(2)),
                ),
            ),
        ],
        "gaussian_kl": [
            (
                "mean_q",
                lambda v: elbo.gaussian_kl(v, 1.0, np.zeros(2), 1.0),
                st.one_of(bad_data, _arrays((), (3,))),
            ),
            ("var_q", lambda v: elbo.gaussian_kl(np.zeros(2), v, np.zeros(2), 1.0), bad_times),
            (
                "mean_p",
                lambda v: elbo.gaussian_kl(np.zeros(2), 1.0, v, 1.0),
                st.one_of(bad_data, _arrays((3,))),
            ),
            ("var_p", lambda v: elbo.gaussian_kl(np.zeros(2), 1.0, np.zeros(2), v), bad_times),
        ],
        "ddpm_p_mean": [
            ("eps_model", lambda v: elbo.ddpm_p_mean(v, np.zeros(2), 0.5, 0.1), bad_callable),
            ("x_t", lambda v: elbo.ddpm_p_mean(DEN, v, 0.5, 0.1), st.one_of(bad_data, _arrays(()))),
            ("alphabar_t", lambda v: elbo.ddpm_p_mean(DEN, np.zeros(2), v, 0.1), bad_unit_array),
            ("beta_t", lambda v: elbo.ddpm_p_mean(DEN, np.zeros(2), 0.5, v), bad_unit_array),
        ],
        "ddpm_elbo": [
            (
                "eps_model",
                lambda v: elbo.ddpm_elbo(v, np.zeros(2), np.full(3, 0.1), RULE),
                bad_callable,
            ),
            (
                "x0",
                lambda v: elbo.ddpm_elbo(DEN, v, np.full(3, 0.1), RULE),
                st.one_of(bad_data, _arrays((2, 2))),
            ),
            (
                "betas",
                lambda v: elbo.ddpm_elbo(DEN, np.zeros(2), v, RULE),
                st.one_of(bad_data, bad_unit_array, _arrays((1,))),
            ),
            (
                "sigma2",
                lambda v: elbo.ddpm_elbo(DEN, np.zeros(2), np.full(3, 0.1), RULE, sigma2=v),
                st.sampled_from(["b", None, 3]),
            ),
        ],
        "divergence_exact": [
            ("f", lambda v: elbo.divergence_exact(v, np.zeros(2)), bad_callable),
            ("z", lambda v: elbo.divergence_exact(DEN, v), st.one_of(bad_data, _arrays((2, 2)))),
        ],
        "hutchinson_probes": [
            ("key", lambda v: elbo.hutchinson_probes(v, 2, 2), bad_key),
            ("n", lambda v: elbo.hutchinson_probes(KEY, v, 2), bad_positive_int),
            (
                "kind",
                lambda v: elbo.hutchinson_probes(KEY, 2, 2, v),
                st.sampled_from(["normal", None, 3]),
            ),
        ],
        "divergence_hutchinson": [
            (
                "f",
                lambda v: elbo.divergence_hutchinson(v, np.zeros(2), np.ones((3, 2))),
                bad_callable,
            ),
            (
                "z",
                lambda v: elbo.divergence_hutchinson(DEN, v, np.ones((3, 2))),
                st.one_of(bad_data, _arrays((2, 2))),
            ),
            (
                "probes",
                lambda v: elbo.divergence_hutchinson(DEN, np.zeros(2), v),
                st.one_of(
                    bad_data, _arrays((2,), (3, 3), (2, 3, 2)), st.just(np.full((3, 2), np.nan))
                ),
            ),
        ],
        "ode_log_likelihood": [
            ("denoiser", lambda v: elbo.ode_log_likelihood(v, LOGP, np.zeros(2), TS), bad_callable),
            (
                "y",
                lambda v: elbo.ode_log_likelihood(DEN, LOGP, v, TS),
                st.one_of(bad_data, _arrays((0,), (2, 2))),
            ),
            ("ts", lambda v: elbo.ode_log_likelihood(DEN, LOGP, np.zeros(2), v), bad_grid_inc),
            (
                "probes",
                lambda v: elbo.ode_log_likelihood(DEN, LOGP, np.zeros(2), TS, v),
                st.one_of(bad_data.filter(lambda x: x is not None), _arrays((3, 3))),
            ),
        ],
        "bits_per_dim": [
            ("nll", lambda v: elbo.bits_per_dim(v, 2), bad_data.filter(lambda x: x is not None)),
            ("d", lambda v: elbo.bits_per_dim(1.0, v), bad_positive_int),
            (
                "bin_width",
                lambda v: elbo.bits_per_dim(1.0, 2, v),
                bad_positive_real.filter(lambda x: x is not None),
            ),
        ],
    },
    losses: {
        "edm_weighting": [("sigma_data", losses.edm_weighting, bad_positive_real)],
        "LogUniform": [
            ("t_min", lambda v: losses.LogUniform(t_min=v), bad_positive_real),
            ("t_max", lambda v: losses.LogUniform(t_max=v), bad_positive_real),
        ],
        "LogUniform.sample": [
            ("key", lambda v: LU.sample(v, 2), bad_key),
            ("n", lambda v: LU.sample(KEY, v), bad_positive_int),
        ],
        "LogUniform.log_prob": [("t", LU.log_prob, st.one_of(bad_data, bad_times))],
        "LogNormal": [
            ("mean", lambda v: losses.LogNormal(mean=v), not_real),
            ("std", lambda v: losses.LogNormal(std=v), bad_positive_real),
        ],
        "LogNormal.sample": [("n", lambda v: losses.LogNormal().sample(KEY, v), bad_positive_int)],
        "LogNormal.log_prob": [("t", losses.LogNormal().log_prob, bad_times)],
        "ScheduleUniform": [
            (
                "alphabars",
                losses.ScheduleUniform,
                st.one_of(
                    junk.filter(lambda x: x is not None),
                    st.sampled_from([(), (0.5, 1.0), (np.nan,)]),
                ),
            )
        ],
        "ScheduleUniform.sample": [
            ("key", lambda v: losses.ScheduleUniform((0.5,)).sample(v, 2), bad_key)
        ],
        "weight_fn": [("weighting", losses.weight_fn, st.sampled_from(["vlbb", None, 3, ["eps"]]))],
        "error_scale": [
            ("target", lambda v: losses.error_scale(v, 1.0), st.sampled_from(["x", None, ["eps"]])),
            ("t", lambda v: losses.error_scale("eps", v), st.one_of(bad_data, bad_times)),
        ],
        "to_denoiser": [
            (
                "out",
                lambda v: losses.to_denoiser(v, np.zeros(2), 1.0, "eps"),
                st.one_of(bad_data, _arrays((3,))),
            ),
            (
                "z",
                lambda v: losses.to_denoiser(np.zeros(2), v, 1.0, "eps"),
                st.one_of(bad_data, _arrays((3,))),
            ),
            ("t", lambda v: losses.to_denoiser(np.zeros(2), np.zeros(2), v, "eps"), bad_times),
            (
                "target",
                lambda v: losses.to_denoiser(np.zeros(2), np.zeros(2), 1.0, v),
                st.sampled_from(["x", None]),
            ),
        ],
        "as_denoiser": [
            ("model", losses.as_denoiser, bad_callable),
            ("target", lambda v: losses.as_denoiser(DEN, v), st.sampled_from(["x", None])),
        ],
        "dsm_terms": [
            ("model", lambda v: _ds(model=v), bad_callable),
            ("y", lambda v: _ds(y=v), st.one_of(bad_data, _arrays((2,), (2, 3), (0, 2)))),
            (
                "t",
                lambda v: _ds(t=v),
                st.one_of(
                    bad_data,
                    _arrays((3,), (2, 1)),
                    st.just(np.array([1.0, 0.0])),
                    st.just(np.array([1.0, np.nan])),
                ),
            ),
            ("eps", lambda v: _ds(eps=v), st.one_of(bad_data, _arrays((2,), (2, 3)))),
            ("target", lambda v: _ds(target=v), st.sampled_from(["x", None])),
            ("weighting", lambda v: _ds(weighting=v), st.sampled_from(["x", None])),
        ],
        "dsm_loss": [
            ("key", lambda v: losses.dsm_loss(PRE, v, np.zeros((2, 2))), bad_key),
            (
                "y",
                lambda v: losses.dsm_loss(PRE, KEY, v),
                st.one_of(bad_data, _arrays((2,), (2, 3))),
            ),
            (
                "t_sampler",
                lambda v: losses.dsm_loss(PRE, KEY, np.zeros((2, 2)), t_sampler=v),
                st.sampled_from([None, 3, "LogUniform"]),
            ),
            (
                "integral",
                lambda v: losses.dsm_loss(PRE, KEY, np.zeros((2, 2)), integral=v),
                bad_flag,
            ),
            ("per_dim", lambda v: losses.dsm_loss(PRE, KEY, np.zeros((2, 2)), per_dim=v), bad_flag),
        ],
        "make_loss_fn": [
            ("target", lambda v: losses.make_loss_fn(target=v), st.sampled_from(["x", None])),
            ("weighting", lambda v: losses.make_loss_fn(weighting=v), st.sampled_from(["x", None])),
            ("t_sampler", lambda v: losses.make_loss_fn(t_sampler=v), st.sampled_from([None, 3])),
            ("integral", lambda v: losses.make_loss_fn(integral=v), bad_flag),
            ("per_dim", lambda v: losses.make_loss_fn(per_dim=v), bad_flag),
        ],
        "mmse": [
            ("key", lambda v: losses.mmse(v, D2, 0.5), bad_key),
            ("pop", lambda v: losses.mmse(KEY, v, 0.5), bad_model),
            ("t", lambda v: losses.mmse(KEY, D2, v), bad_times),
            ("n", lambda v: losses.mmse(KEY, D2, 0.5, v), bad_positive_int),
        ],
        "irreducible_loss": [
            ("key", lambda v: losses.irreducible_loss(v, D2), bad_key),
            ("pop", lambda v: losses.irreducible_loss(KEY, v), bad_model),
            (
                "t_sampler",
                lambda v: losses.irreducible_loss(KEY, D2, t_sampler=v),
                st.sampled_from([None, 3]),
            ),
            ("integral", lambda v: losses.irreducible_loss(KEY, D2, integral=v), bad_flag),
            ("n_t", lambda v: losses.irreducible_loss(KEY, D2, n_t=v), bad_positive_int),
            ("n_z", lambda v: losses.irreducible_loss(KEY, D2, n_z=v), bad_positive_int),
        ],
        "loss_per_log_t": [
            ("key", lambda v: losses.loss_per_log_t(v, D2, TS), bad_key),
            ("pop", lambda v: losses.loss_per_log_t(KEY, v, TS), bad_model),
            ("t", lambda v: losses.loss_per_log_t(KEY, D2, v), bad_times),
            (
                "t_sampler",
                lambda v: losses.loss_per_log_t(KEY, D2, TS, t_sampler=v),
                st.sampled_from([3, "x"]),
            ),
            ("n", lambda v: losses.loss_per_log_t(KEY, D2, TS, n=v), bad_positive_int),
        ],
        "mean_denoiser_error": [
            ("key", lambda v: losses.mean_denoiser_error(v, PRE, D2, LU), bad_key),
            ("model", lambda v: losses.mean_denoiser_error(KEY, v, D2, LU), bad_callable),
            ("pop", lambda v: losses.mean_denoiser_error(KEY, PRE, v, LU), bad_model),
            (
                "t_sampler",
                lambda v: losses.mean_denoiser_error(KEY, PRE, D2, v),
                st.sampled_from([None, 3]),
            ),
            (
                "n_t",
                lambda v: losses.mean_denoiser_error(KEY, PRE, D2, LU, n_t=v),
                bad_positive_int,
            ),
        ],
        "train_ring": [
            ("key", lambda v: losses.train_ring(v), bad_key),
            ("steps", lambda v: losses.train_ring(KEY, steps=v), bad_positive_int),
            ("width", lambda v: losses.train_ring(KEY, width=v), bad_positive_int),
            ("n", lambda v: losses.train_ring(KEY, n=v), bad_positive_int),
        ],
        "denoiser_error": [
            ("key", lambda v: losses.denoiser_error(v, PRE, D2, 0.5), bad_key),
            ("model", lambda v: losses.denoiser_error(KEY, v, D2, 0.5), bad_callable),
            ("pop", lambda v: losses.denoiser_error(KEY, PRE, v, 0.5), bad_model),
            ("t", lambda v: losses.denoiser_error(KEY, PRE, D2, v), bad_times),
            ("n", lambda v: losses.denoiser_error(KEY, PRE, D2, 0.5, n=v), bad_positive_int),
        ],
    },
    reverse: {
        "drift_coefficient": [
            (
                "lam",
                reverse.drift_coefficient,
                st.one_of(
                    bad_data,
                    st.sampled_from([-1.0, math.nan, math.inf, np.array([0.0, -1.0]), True]),
                ),
            )
        ],
        "gaussian_variance": [
            ("c", lambda v: reverse.gaussian_variance(v, 1.0, 1.0, TS[::-1]), bad_nonneg_real),
            ("lam", lambda v: reverse.gaussian_variance(1.0, v, 1.0, TS[::-1]), bad_nonneg_real),
            ("s2", lambda v: reverse.gaussian_variance(1.0, 1.0, v, TS[::-1]), bad_positive_real),
            (
                "ts",
                lambda v: reverse.gaussian_variance(1.0, 1.0, 1.0, v),
                bad_grid_dec.filter(
                    lambda x: not (isinstance(x, np.ndarray) and x.size == 2 and x[1] == -1.0)
                ),
            ),
        ],
    },
    samplers: {
        "euler": [
            (
                "D",
                lambda v: samplers.euler(v, np.zeros(2), 1.0, 0.5, 0.0, np.zeros(2)),
                bad_callable,
            ),
            (
                "t",
                lambda v: samplers.euler(DEN, np.zeros(2), v, 0.0, 0.0, np.zeros(2)),
                bad_positive_real,
            ),
            (
                "s",
                lambda v: samplers.euler(DEN, np.zeros(2), 1.0, v, 0.0, np.zeros(2)),
                st.one_of(bad_nonneg_real, st.floats(1.0, 10.0)),
            ),
            (
                "lam",
                lambda v: samplers.euler(DEN, np.zeros(2), 1.0, 0.5, v, np.zeros(2)),
                bad_nonneg_real,
            ),
            (
                "xi",
                lambda v: samplers.euler(DEN, np.zeros(2), 1.0, 0.5, 0.0, v),
                st.one_of(bad_data, _arrays((3,))),
            ),
        ],
        "ddim": [("z", lambda v: samplers.ddim(DEN, v, 1.0, 0.5, 0.0, np.zeros(2)), bad_data)],
        "heun": [
            ("t", lambda v: samplers.heun(DEN, np.zeros(2), v, 0.5, 0.0, None), bad_positive_real)
        ],
        "geometric_grid": [
            ("t_max", lambda v: samplers.geometric_grid(v, 0.1, 3), bad_positive_real),
            ("t_min", lambda v: samplers.geometric_grid(10.0, v, 3), bad_positive_real),
            ("n_steps", lambda v: samplers.geometric_grid(10.0, 0.1, v), bad_positive_int),
        ],
        "ddpm_grid": [
            (
                "alphabars",
                lambda v: samplers.ddpm_grid(v, 3),
                st.one_of(
                    bad_data,
                    st.sampled_from(
                        [AB[::-1], np.array([0.5, np.nan]), np.array([1.5, 0.5]), np.zeros((2, 2))]
                    ),
                ),
            ),
            (
                "n_steps",
                lambda v: samplers.ddpm_grid(AB, v),
                st.one_of(bad_positive_int, st.integers(21, 99)),
            ),
            (
                "t_max",
                lambda v: samplers.ddpm_grid(AB, 3, v),
                bad_positive_real.filter(lambda x: x is not None),
            ),
        ],
        "karras_grid": [
            ("n_steps", samplers.karras_grid, bad_positive_int),
            ("t_min", lambda v: samplers.karras_grid(4, t_min=v), bad_positive_real),
            ("t_max", lambda v: samplers.karras_grid(4, t_max=v), bad_positive_real),
            ("rho", lambda v: samplers.karras_grid(4, rho=v), bad_positive_real),
        ],
        "check_grid": [
            ("ts", samplers.check_grid, bad_grid_dec),
            ("increasing", lambda v: samplers.check_grid(TS, increasing=v), bad_flag),
        ],
        "takes_condition": [("denoiser", samplers.takes_condition, bad_callable)],
        "sample": [
            ("key", lambda v: samplers.sample(v, DEN, np.zeros((2, 2)), TS[::-1]), bad_key),
            (
                "denoiser",
                lambda v: samplers.sample(KEY, v, np.zeros((2, 2)), TS[::-1]),
                bad_callable,
            ),
            (
                "z_T",
                lambda v: samplers.sample(KEY, DEN, v, TS[::-1]),
                st.one_of(bad_data, _arrays((2,), (0, 2)), st.just(np.zeros((2, 2), int))),
            ),
            ("ts", lambda v: samplers.sample(KEY, DEN, np.zeros((2, 2)), v), bad_grid_dec),
            (
                "lam",
                lambda v: samplers.sample(KEY, DEN, np.zeros((2, 2)), TS[::-1], lam=v),
                bad_nonneg_real,
            ),
            (
                "step",
                lambda v: samplers.sample(KEY, DEN, np.zeros((2, 2)), TS[::-1], step=v),
                st.sampled_from([None, "ddim", DEN]),
            ),
            (
                "return_path",
                lambda v: samplers.sample(KEY, DEN, np.zeros((2, 2)), TS[::-1], return_path=v),
                bad_flag,
            ),
            (
                "c",
                lambda v: samplers.sample(KEY, DEN, np.zeros((2, 2)), TS[::-1], c=v),
                st.just(np.zeros(2)),
            ),
        ],
        "ode_forward": [
            ("denoiser", lambda v: samplers.ode_forward(v, np.zeros((2, 2)), TS), bad_callable),
            (
                "z0",
                lambda v: samplers.ode_forward(DEN, v, TS),
                st.one_of(bad_data, _arrays((2,)), st.just(np.zeros((2, 2), int))),
            ),
            ("ts", lambda v: samplers.ode_forward(DEN, np.zeros((2, 2)), v), bad_grid_inc),
        ],
        "settings_grid": [
            ("setting", lambda v: samplers.settings_grid(v, 4), st.sampled_from(["x", None, 3])),
            ("n_steps", lambda v: samplers.settings_grid("ode", v), bad_positive_int),
            (
                "t_range",
                lambda v: samplers.settings_grid("ode", 4, t_range=v),
                st.sampled_from([(1.0,), (2.0, 1.0), (0.0, 1.0), (1.0, np.nan), 3, "ab"]),
            ),
            ("strict", lambda v: samplers.settings_grid("ode", 4, strict=v), bad_flag),
            (
                "alphabars",
                lambda v: samplers.settings_grid("ddim", 4, alphabars=v),
                st.one_of(bad_data.filter(lambda x: x is not None), st.just(AB[::-1])),
            ),
        ],
    },
    embedding: {
        "time_embedding": [
            ("t", lambda v: embedding.time_embedding(v, 4), bad_positive_real),
            (
                "dim",
                lambda v: embedding.time_embedding(1.0, v),
                st.one_of(bad_positive_int, st.just(3)),
            ),
            ("max_period", lambda v: embedding.time_embedding(1.0, 4, v), bad_positive_real),
        ],
    },
    mlp: {
        "MLP": [
            ("key", lambda v: mlp.MLP(v, 2), bad_key),
            ("dim", lambda v: mlp.MLP(KEY, v), bad_positive_int),
            ("width", lambda v: mlp.MLP(KEY, 2, width=v), bad_positive_int),
            ("depth", lambda v: mlp.MLP(KEY, 2, depth=v), bad_positive_int),
            ("t_dim", lambda v: mlp.MLP(KEY, 2, t_dim=v), st.one_of(bad_positive_int, st.just(3))),
        ],
        "MLP.__call__": [
            ("x", lambda v: MLP_NET(v, 0.5), bad_z2),
            ("t", lambda v: MLP_NET(np.zeros(2), v), bad_positive_real),
        ],
    },
    precond: {
        "sigma_data": [("y", precond.sigma_data, st.one_of(bad_data, _arrays((0,)), nan_array))],
        "coefficients": [
            ("kind", lambda v: precond.coefficients(v, 1.0), st.sampled_from(["v", None, 3])),
            ("t", lambda v: precond.coefficients("edm", v), st.one_of(bad_data, bad_times)),
            ("sigma_data", lambda v: precond.coefficients("edm", 1.0, v), bad_positive_real),
        ],
        "Preconditioned": [
            ("net", lambda v: precond.Preconditioned(v, shape=(2,)), bad_callable),
            (
                "shape",
                lambda v: precond.Preconditioned(MLP_NET, shape=v),
                st.sampled_from([(), (0,), "ab", 3, (2.5,), None]),
            ),
            (
                "kind",
                lambda v: precond.Preconditioned(MLP_NET, shape=(2,), kind=v),
                st.sampled_from(["v", None]),
            ),
            (
                "sigma_data",
                lambda v: precond.Preconditioned(MLP_NET, shape=(2,), sigma_data=v),
                bad_positive_real,
            ),
            (
                "t_range",
                lambda v: precond.Preconditioned(MLP_NET, shape=(2,), t_range=v),
                st.sampled_from([(1.0,), (2.0, 1.0), (0.0, 1.0), (1.0, np.inf), 3, ("a", "b")]),
            ),
            (
                "conditional",
                lambda v: precond.Preconditioned(MLP_NET, shape=(2,), conditional=v),
                bad_flag,
            ),
        ],
        "Preconditioned.__call__": [
            ("z", lambda v: PRE(v, 0.5), bad_z2),
            ("t", lambda v: PRE(np.zeros(2), v), bad_positive_real),
        ],
    },
    ddpm: {
        "Arch": [
            ("channels", lambda v: ddpm.Arch(channels=v), bad_positive_int),
            (
                "channel_mults",
                lambda v: ddpm.Arch(channel_mults=v),
                st.sampled_from([(), (1, 0), "ab", 3, (1.5,)]),
            ),
            ("blocks", lambda v: ddpm.Arch(blocks=v), bad_positive_int),
            ("attention", lambda v: ddpm.Arch(attention=v), bad_flag),
            ("groups", lambda v: ddpm.Arch(groups=v), st.one_of(bad_positive_int, st.just(3))),
            ("n_classes", lambda v: ddpm.Arch(n_classes=v), bad_nonneg_int),
        ],
        "Loss": [
            ("kind", lambda v: ddpm.Loss(kind=v), st.sampled_from(["v", None, ["edm"]])),
            (
                "sigma_data",
                lambda v: ddpm.Loss(sigma_data=v),
                bad_positive_real.filter(lambda x: x is not None),
            ),
            ("p_mean", lambda v: ddpm.Loss(p_mean=v), not_real),
            ("p_std", lambda v: ddpm.Loss(p_std=v), bad_positive_real),
            ("schedule", lambda v: ddpm.Loss(schedule=v), st.sampled_from(["x", None])),
        ],
        "schedule": [("schedule", ddpm.schedule, st.sampled_from(["x", None, 3, ["cosine"]]))],
        "eps": [
            ("model", lambda v: ddpm.eps(v, np.zeros(2), 0.5), bad_callable),
            ("x_t", lambda v: ddpm.eps(PRE, v, 0.5), bad_z2),
            ("alphabar", lambda v: ddpm.eps(PRE, np.zeros(2), v), bad_unit),
        ],
        "x0": [
            ("alphabar", lambda v: ddpm.x0(PRE, np.zeros(2), v), st.one_of(bad_unit, st.just(1.0)))
        ],
        "build": [
            (
                "key",
                lambda v: ddpm.build(v, (8, 8, 1), ddpm.Arch(), ddpm.Loss(sigma_data=0.5)),
                bad_key,
            ),
            (
                "image_shape",
                lambda v: ddpm.build(KEY, v, ddpm.Arch(), ddpm.Loss(sigma_data=0.5)),
                st.sampled_from([(8, 8), (8, 8, 0), (0, 8, 1), "abc", 3, None, (8.5, 8, 1)]),
            ),
            (
                "arch",
                lambda v: ddpm.build(KEY, (8, 8, 1), v, ddpm.Loss(sigma_data=0.5)),
                st.sampled_from([None, {"channels": 8}]),
            ),
            (
                "loss",
                lambda v: ddpm.build(KEY, (8, 8, 1), ddpm.Arch(), v),
                st.sampled_from([None, {"sigma_data": 0.5}, ddpm.Loss()]),
            ),
        ],
        "meta_for": [
            (
                "image_shape",
                lambda v: ddpm.meta_for(v, ddpm.Arch(), ddpm.Loss()),
                st.sampled_from([(8, 8), "abc", None]),
            ),
            (
                "data",
                lambda v: ddpm.meta_for((8, 8, 1), ddpm.Arch(), ddpm.Loss(), v),
                st.sampled_from([None, 3]),
            ),
        ],
        "from_meta": [
            ("meta", ddpm.from_meta, st.sampled_from([None, [], "x", {}, {"model": {}}]))
        ],
        "save": [("model", lambda v: ddpm.save(_tmp() + "/m.ckpt", v, {}), bad_model)],
        "load": [("path", ddpm.load, st.sampled_from([3, "", b"x", ["a"]]))],
        "train_images": [
            ("key", lambda v: ddpm.train_images(v, np.zeros((4, 8, 8)), steps=1), bad_key),
            (
                "images",
                lambda v: ddpm.train_images(KEY, v, steps=1),
                st.one_of(
                    bad_data,
                    st.sampled_from(
                        [
                            np.full((4, 8, 8), 255, np.uint8),
                            np.zeros((4, 8)),
                            np.full((4, 8, 8), np.nan),
                            np.zeros((0, 8, 8)),
                        ]
                    ),
                ),
            ),
            (
                "learning_rate",
                lambda v: ddpm.train_images(KEY, np.zeros((4, 8, 8)), steps=1, learning_rate=v),
                st.just(1e-3),
            ),
            (
                "arch",
                lambda v: ddpm.train_images(KEY, np.zeros((4, 8, 8)), steps=1, arch=v),
                st.sampled_from([3, {"channels": 8}]),
            ),
            (
                "labels",
                lambda v: ddpm.train_images(KEY, np.full((4, 8, 8), 0.5), steps=1, labels=v),
                st.sampled_from([np.zeros(3, int), np.zeros(4)]),
            ),
        ],
        "calls_of": [
            ("setting", lambda v: ddpm.calls_of(v, 3), st.sampled_from(["x", None, 3])),
            ("steps", lambda v: ddpm.calls_of("ddim", v), bad_positive_int),
        ],
        "fd_against_calls": [
            ("model", lambda v: ddpm.fd_against_calls(v, [3]), bad_model),
            (
                "calls",
                lambda v: ddpm.fd_against_calls(PRE, v),
                st.sampled_from([[0, 2], [], "a", [1.5], [-1], None]),
            ),
            (
                "seeds",
                lambda v: ddpm.fd_against_calls(PRE, [3], seeds=v),
                st.sampled_from([[], "a", [1.5], [-1], None]),
            ),
            ("n", lambda v: ddpm.fd_against_calls(PRE, [3], n=v), bad_positive_int),
            ("progress", lambda v: ddpm.fd_against_calls(PRE, [3], progress=v), bad_flag),
        ],
        "grid": [
            ("model", lambda v: ddpm.grid(v, "ddim", 4), bad_model),
            ("setting", lambda v: ddpm.grid(PRE, v, 4), st.sampled_from(["x", None])),
            ("steps", lambda v: ddpm.grid(PRE, "ddim", v), bad_positive_int),
            ("strict", lambda v: ddpm.grid(PRE, "ddim", 4, strict=v), bad_flag),
        ],
        "sample": [
            ("key", lambda v: ddpm.sample(v, PRE, 2), bad_key),
            ("model", lambda v: ddpm.sample(KEY, v, 2), bad_model),
            ("n", lambda v: ddpm.sample(KEY, PRE, v), bad_positive_int),
            (
                "setting",
                lambda v: ddpm.sample(KEY, PRE, 2, setting=v),
                st.sampled_from(["x", None]),
            ),
            (
                "lam",
                lambda v: ddpm.sample(KEY, PRE, 2, setting="sde", lam=v),
                bad_nonneg_real.filter(lambda x: x is not None),
            ),
            ("lam", lambda v: ddpm.sample(KEY, PRE, 2, setting="ddpm", lam=v), st.just(5.0)),
            ("steps", lambda v: ddpm.sample(KEY, PRE, 2, steps=v), bad_positive_int),
        ],
    },
}
TABLE.update(MATH)

# --------------------------------------------------------------------------------------------
# the diffusion modules: heat, random_walk, sde, fokker_planck

OU = sde.OrnsteinUhlenbeck()
GBM = sde.GeometricBrownian()
U5 = np.ones(5)
TS_PATH = np.linspace(0.0, 1.0, 5)
FPX = np.linspace(-3.0, 3.0, 8)
FPP = np.exp(-(FPX**2) / 2)
bad_time0 = st.one_of(st.floats(max_value=-1e-300), non_finite, junk)
bad_boundary = st.sampled_from(["x", None, 3, "Dirichlet"])
bad_grid_inc = st.sampled_from(
    [np.array([1.0, 0.5, 0.2, 0.1, 0.0]), np.array([np.nan, 1.0, 2.0, 3.0, 4.0]), "a"]
)
bad_seq = st.sampled_from([[0, 2], [], "a", [1.5], [-1], None])

PDE = {
    heat: {
        "kernel": [
            ("t", lambda v: heat.kernel(0.3, v, 0.5), bad_positive_real),
            ("D", lambda v: heat.kernel(0.3, 1.0, v), bad_positive_real),
        ],
        "kernel_flux": [
            ("t", lambda v: heat.kernel_flux(0.3, v, 0.5), bad_positive_real),
            ("D", lambda v: heat.kernel_flux(0.3, 1.0, v), bad_positive_real),
        ],
        "convolve": [
            ("t", lambda v: heat.convolve(U5, TS_PATH, v, 0.5), bad_positive_real),
            ("x", lambda v: heat.convolve(U5, v, 1.0, 0.5), bad_grid_inc),
        ],
        "flux": [("dx", lambda v: heat.flux(U5, v, 0.5), bad_positive_real)],
        "mass": [
            ("dx", lambda v: heat.mass(U5, v), bad_positive_real),
            ("boundary", lambda v: heat.mass(U5, 0.1, v), bad_boundary),
        ],
        "laplacian_matrix": [
            ("n", lambda v: heat.laplacian_matrix(v, 0.1, "neumann"), bad_positive_int),
            ("dx", lambda v: heat.laplacian_matrix(4, v, "neumann"), bad_positive_real),
            ("boundary", lambda v: heat.laplacian_matrix(4, 0.1, v), bad_boundary),
        ],
        "solve_ftcs": [
            ("dt", lambda v: heat.solve_ftcs(U5, 0.1, v, 2, 1.0, "dirichlet"), bad_positive_real),
            (
                "steps",
                lambda v: heat.solve_ftcs(U5, 0.1, 1e-3, v, 1.0, "dirichlet"),
                bad_positive_int,
            ),
            (
                "u0",
                lambda v: heat.solve_ftcs(v, 0.1, 1e-3, 2, 1.0, "dirichlet"),
                _arrays((2,), (3, 3)),
            ),
        ],
        "solve_crank_nicolson": [
            (
                "dx",
                lambda v: heat.solve_crank_nicolson(U5, v, 0.1, 2, 1.0, "dirichlet"),
                bad_positive_real,
            ),
            (
                "startup",
                lambda v: heat.solve_crank_nicolson(U5, 0.1, 0.1, 2, 1.0, "dirichlet", startup=v),
                st.one_of(bad_nonneg_int, st.integers(3, 99)),
            ),
        ],
        "solve_backward_euler": [
            (
                "D",
                lambda v: heat.solve_backward_euler(U5, 0.1, 0.1, 2, v, "dirichlet"),
                bad_positive_real,
            ),
            (
                "boundary",
                lambda v: heat.solve_backward_euler(U5, 0.1, 0.1, 2, 1.0, v),
                bad_boundary,
            ),
        ],
        "amplification_factor": [
            ("scheme", lambda v: heat.amplification_factor(v, 0.4, 0.5), bad_boundary),
        ],
        "semi_discrete_solution": [
            (
                "t",
                lambda v: heat.semi_discrete_solution(U5, 0.1, v, 1.0, "dirichlet"),
                bad_positive_real,
            ),
        ],
        "time_errors": [
            (
                "t",
                lambda v: heat.time_errors(heat.solve_ftcs, U5, 0.1, v, 1.0, "dirichlet", [2]),
                bad_positive_real,
            ),
        ],
        "solve_plume": [
            (
                "wind",
                lambda v: heat.solve_plume(np.zeros((5, 5)), 0.1, 1e-3, 2, 0.1, wind=v),
                st.sampled_from([[math.nan, 0.0], [math.inf, 0.0], [1.0], "a"]),
            ),
            ("c0", lambda v: heat.solve_plume(v, 0.1, 1e-3, 2, 0.1), _arrays((5,), (2, 5))),
            (
                "steps",
                lambda v: heat.solve_plume(np.zeros((5, 5)), 0.1, 1e-3, v, 0.1),
                bad_positive_int,
            ),
        ],
    },
    random_walk: {
        "diffusion_constant": [
            ("dx", lambda v: random_walk.diffusion_constant(v, 1.0), bad_positive_real),
            ("dt", lambda v: random_walk.diffusion_constant(1.0, v), bad_positive_real),
        ],
        "lattice_walk": [
            ("key", lambda v: random_walk.lattice_walk(v, 2, 3, 1.0, 1.0), bad_key),
            (
                "n_walkers",
                lambda v: random_walk.lattice_walk(KEY, v, 3, 1.0, 1.0),
                bad_positive_int,
            ),
            ("dx", lambda v: random_walk.lattice_walk(KEY, 2, 3, v, 1.0), bad_positive_real),
        ],
        "brownian_paths": [
            ("n_paths", lambda v: random_walk.brownian_paths(KEY, v, TS_PATH), bad_positive_int),
            ("dim", lambda v: random_walk.brownian_paths(KEY, 2, TS_PATH, dim=v), bad_positive_int),
        ],
        "fit_diffusion": [
            (
                "ts",
                lambda v: random_walk.fit_diffusion(v, np.ones(3)),
                st.sampled_from(
                    [
                        np.zeros(3),
                        np.array([-1.0, 1.0, 2.0]),
                        np.array([math.nan, 1.0, 2.0]),
                    ]
                ),
            ),
            (
                "dim",
                lambda v: random_walk.fit_diffusion(TS_PATH[1:], np.ones(4), dim=v),
                bad_positive_int,
            ),
        ],
        "first_passage_times": [
            (
                "a",
                lambda v: random_walk.first_passage_times(np.zeros((2, 5)), TS_PATH, v),
                bad_positive_real,
            ),
        ],
        "first_passage_cdf": [
            ("a", lambda v: random_walk.first_passage_cdf(1.0, v), bad_positive_real),
            ("D", lambda v: random_walk.first_passage_cdf(1.0, 1.0, v), bad_positive_real),
        ],
        "absorbed_density": [
            ("t", lambda v: random_walk.absorbed_density(0.1, v, 1.0), bad_positive_real),
        ],
        "lattice_inside_probability": [
            ("n_steps", lambda v: random_walk.lattice_inside_probability(v), bad_positive_int),
            ("c", lambda v: random_walk.lattice_inside_probability(4, v), bad_positive_real),
        ],
        "msd_slope_relative_se": [
            (
                "n_walkers",
                lambda v: random_walk.msd_slope_relative_se(TS_PATH[1:], v),
                bad_positive_int,
            ),
        ],
        "first_passage_mean_truncated": [
            ("T", lambda v: random_walk.first_passage_mean_truncated(v, 1.0), bad_positive_real),
        ],
        "biased_walk": [
            (
                "n_steps",
                lambda v: random_walk.biased_walk(KEY, 2, v, 1.0, 1.0, 0.5),
                bad_positive_int,
            ),
        ],
    },
    sde: {
        "SDE": [("f", lambda v: sde.SDE(v, lambda x, t: x), bad_callable)],
        "BrownianMotion": [],
        "BrownianMotion.gaussian_marginal": [
            ("t", lambda v: sde.BrownianMotion().gaussian_marginal(0.0, 1.0, v), bad_time0)
        ],
        "OrnsteinUhlenbeck": [
            ("mu", lambda v: sde.OrnsteinUhlenbeck(mu=v), non_finite),
            ("theta", lambda v: sde.OrnsteinUhlenbeck(theta=v), st.floats(max_value=0.0)),
            ("sigma", lambda v: sde.OrnsteinUhlenbeck(sigma=v), st.floats(max_value=-1e-300)),
        ],
        "OrnsteinUhlenbeck.gaussian_marginal": [
            ("t", lambda v: OU.gaussian_marginal(0.0, 1.0, v), bad_time0)
        ],
        "VPProcess": [("beta_min", lambda v: sde.VPProcess(beta_min=v), st.floats(max_value=0.0))],
        "GeometricBrownian": [
            ("mu", lambda v: sde.GeometricBrownian(mu=v), non_finite),
            ("sigma", lambda v: sde.GeometricBrownian(sigma=v), st.floats(max_value=-1e-300)),
        ],
        "marginal_moments": [("t", lambda v: sde.marginal_moments(OU, 0.0, v), bad_time0)],
        "brownian_increments": [
            ("key", lambda v: sde.brownian_increments(v, TS_PATH, 1), bad_key),
            ("d", lambda v: sde.brownian_increments(KEY, TS_PATH, v), bad_positive_int),
        ],
        "euler_maruyama_increments": [
            (
                "dW",
                lambda v: sde.euler_maruyama_increments(OU, np.zeros(1), TS_PATH, v),
                _arrays((4,), (3, 1)),
            ),
        ],
        "euler_maruyama": [
            ("key", lambda v: sde.euler_maruyama(v, OU, np.zeros(1), TS_PATH), bad_key)
        ],
        "euler_maruyama_many": [
            ("key", lambda v: sde.euler_maruyama_many(v, OU, np.zeros((2, 1)), TS_PATH), bad_key),
            (
                "x0s",
                lambda v: sde.euler_maruyama_many(KEY, OU, v, TS_PATH),
                _arrays((2,), (2, 1, 1)),
            ),
        ],
        "strong_errors": [
            ("factors", lambda v: sde.strong_errors(KEY, GBM, 1.0, 1.0, 16, v, 8), bad_seq),
            (
                "n_fine",
                lambda v: sde.strong_errors(KEY, GBM, 1.0, 1.0, v, [1], 8),
                bad_positive_int,
            ),
            ("key", lambda v: sde.strong_errors(v, GBM, 1.0, 1.0, 16, [1], 8), bad_key),
            ("T", lambda v: sde.strong_errors(KEY, GBM, 1.0, v, 16, [1], 8), bad_positive_real),
        ],
        "weak_errors": [
            (
                "power",
                lambda v: sde.weak_errors(KEY, OU, 1.0, 1.0, [4], 8, power=v),
                st.sampled_from([0, 3, 2.0, None, "1"]),
            ),
            ("n_steps", lambda v: sde.weak_errors(KEY, OU, 1.0, 1.0, v, 8), bad_seq),
            ("n_paths", lambda v: sde.weak_errors(KEY, OU, 1.0, 1.0, [4], v), bad_positive_int),
            ("x0", lambda v: sde.weak_errors(KEY, OU, v, 1.0, [4], 8), not_real),
        ],
        "black_scholes_call": [
            ("sigma", lambda v: sde.black_scholes_call(1.0, 1.0, 0.05, v, 1.0), bad_positive_real),
            ("r", lambda v: sde.black_scholes_call(1.0, 1.0, v, 0.2, 1.0), non_finite),
        ],
        "mc_call_price": [
            ("key", lambda v: sde.mc_call_price(v, 1.0, 1.0, 0.05, 0.2, 1.0, 8), bad_key),
            (
                "n_paths",
                lambda v: sde.mc_call_price(KEY, 1.0, 1.0, 0.05, 0.2, 1.0, v),
                bad_positive_int,
            ),
        ],
        "em_call_bias": [
            ("key", lambda v: sde.em_call_bias(v, 1.0, 1.0, 0.05, 0.2, 1.0, 8, 4), bad_key),
            (
                "S0",
                lambda v: sde.em_call_bias(KEY, v, 1.0, 0.05, 0.2, 1.0, 8, 4),
                st.sampled_from([0.0, -1.0, np.nan]),
            ),
            (
                "sigma",
                lambda v: sde.em_call_bias(KEY, 1.0, 1.0, 0.05, v, 1.0, 8, 4),
                st.sampled_from([-0.1, np.nan]),
            ),
            (
                "n_paths",
                lambda v: sde.em_call_bias(KEY, 1.0, 1.0, 0.05, 0.2, 1.0, v, 4),
                bad_positive_int,
            ),
            (
                "n_steps",
                lambda v: sde.em_call_bias(KEY, 1.0, 1.0, 0.05, 0.2, 1.0, 8, v),
                bad_positive_int,
            ),
        ],
        "mixture_marginal_pdf": [
            (
                "weights",
                lambda v: sde.mixture_marginal_pdf(
                    OU, np.zeros(3), 1.0, v, np.zeros(2), np.ones(2)
                ),
                st.sampled_from(
                    [np.array([0.5, 0.6]), np.array([1.5, -0.5]), np.array([math.nan, 1.0]), "a"]
                ),
            ),
            (
                "t",
                lambda v: sde.mixture_marginal_pdf(
                    OU, np.zeros(3), v, np.ones(2) / 2, np.zeros(2), np.ones(2)
                ),
                bad_time0,
            ),
            (
                "v0s",
                lambda v: sde.mixture_marginal_pdf(
                    OU, np.zeros(3), 1.0, np.ones(2) / 2, np.zeros(2), v
                ),
                st.sampled_from([-np.ones(2), np.ones(3)]),
            ),
        ],
        "ito_and_midpoint_sums": [
            ("key", lambda v: sde.ito_and_midpoint_sums(v, 2, 4), bad_key),
            ("n_steps", lambda v: sde.ito_and_midpoint_sums(KEY, 2, v), bad_positive_int),
        ],
        "langevin": [("score", sde.langevin, bad_callable)],
    },
    fokker_planck: {
        "grid": [("n", lambda v: fokker_planck.grid(-1.0, 1.0, v), bad_positive_int)],
        "solve": [
            (
                "safety",
                lambda v: fokker_planck.solve(OU, FPP, FPX, [0.0, 1.0], safety=v),
                st.one_of(
                    st.floats(min_value=1.0, exclude_min=True), st.floats(max_value=0.0), not_real
                ),
            ),
            (
                "dt",
                lambda v: fokker_planck.solve(OU, FPP, FPX, [0.0, 1.0], dt=v),
                st.one_of(st.floats(max_value=0.0), not_real.filter(lambda x: x is not None)),
            ),
            ("ts", lambda v: fokker_planck.solve(OU, FPP, FPX, v), bad_grid_inc),
            (
                "p0",
                lambda v: fokker_planck.solve(OU, v, FPX, [0.0, 1.0]),
                st.sampled_from([np.ones(3), -FPP]),
            ),
        ],
    },
}
TABLE.update(PDE)

NOTHING_TO_CHECK.update(
    {
        populations: {
            "mcallester_d2": "no arguments",
            "mcallester_g1": "no arguments",
            "mixture_2d": "no arguments",
        },
        schedules: {},
        elbo: {"ElboTerms": "a result record", "DDPMTerms": "a result record"},
        losses: {},
        reverse: {},
        samplers: {"Setting": "a record of the settings table (SETTINGS), built by the module"},
        embedding: {},
        mlp: {},
        precond: {},
        ddpm: {},
        heat: {},
        random_walk: {},
        sde: {},
        fokker_planck: {},
    }
)

G5 = np.linspace(-1.0, 1.0, 5)
X5, Y5 = np.meshgrid(G5, G5, indexing="ij")
C5 = np.ones((5, 5))
PATHS = np.zeros((3, 4))
bad_field = st.sampled_from([np.ones(5), np.ones((1, 5)), np.full((5, 5), np.nan), "a", None])
bad_order_x = st.sampled_from(
    [np.ones(3), np.array([0.1, 0.0, 0.3]), np.array([0.1]), np.array([[0.1, 0.2, 0.3]]), "a"]
)
bad_order_err = st.sampled_from(
    [np.array([1.0, -1.0, 1.0]), np.ones(2), np.array([1.0, np.nan, 1.0]), "a", None]
)
bad_point = st.sampled_from([np.ones(3), np.array([0.0, np.nan]), "a", None])
bad_sde = st.sampled_from([None, 3, "ou", sde])
bad_fp_grid = st.sampled_from(
    [np.array([0.0, 1.0, 3.0]), np.array([1.0, 0.0]), np.array([0.0]), np.ones((2, 2)), "a"]
)

REST = {
    heat: {
        "fit_order": [
            ("hs", lambda v: heat.fit_order(v, np.ones(3)), bad_order_x),
            ("errors", lambda v: heat.fit_order(np.array([0.1, 0.2, 0.4]), v), bad_order_err),
        ],
        "upwind_diffusion": [
            ("v", lambda v: heat.upwind_diffusion(v, 0.1, 0.01), not_real),
            ("dx", lambda v: heat.upwind_diffusion(1.0, v, 0.01), bad_positive_real),
            ("dt", lambda v: heat.upwind_diffusion(1.0, 0.1, v), bad_positive_real),
        ],
        "moments": [
            ("c", lambda v: heat.moments(v, X5, Y5), bad_field),
            ("X", lambda v: heat.moments(C5, v, Y5), st.sampled_from([X5[:2], Y5, "a"])),
            ("Y", lambda v: heat.moments(C5, X5, v), st.sampled_from([Y5[:, :2], "a", None])),
        ],
        "crosswind_sd": [
            ("c", lambda v: heat.crosswind_sd(v, G5, 0.0), st.one_of(bad_field, st.just(0 * C5))),
            ("g", lambda v: heat.crosswind_sd(C5, v, 0.0), st.sampled_from([G5[::-1], G5[:3]])),
            ("x_at", lambda v: heat.crosswind_sd(C5, G5, v), not_real),
        ],
        "hat": [
            ("x", lambda v: heat.hat(v), st.one_of(junk, st.just(np.full(3, "a")))),
            ("centre", lambda v: heat.hat(G5, centre=v), not_real),
            ("half_width", lambda v: heat.hat(G5, half_width=v), bad_positive_real),
        ],
        "ftcs_stability_demo": [
            (
                "r_values",
                lambda v: heat.ftcs_stability_demo(r_values=v),
                st.sampled_from([np.array([0.5, -0.1]), np.array([np.nan]), np.ones((2, 2)), "a"]),
            ),
            ("n", lambda v: heat.ftcs_stability_demo(n=v), st.one_of(bad_positive_int, st.just(2))),
            ("steps", lambda v: heat.ftcs_stability_demo(steps=v), bad_positive_int),
            ("D", lambda v: heat.ftcs_stability_demo(D=v), bad_positive_real),
        ],
        "large_step_demo": [
            ("r", lambda v: heat.large_step_demo(r=v), bad_positive_real),
            ("steps", lambda v: heat.large_step_demo(steps=v), bad_positive_int),
            ("n", lambda v: heat.large_step_demo(n=v), st.one_of(bad_positive_int, st.just(2))),
            ("D", lambda v: heat.large_step_demo(D=v), bad_positive_real),
            ("startup", lambda v: heat.large_step_demo(startup=v), bad_nonneg_int),
        ],
        "plume_demo": [
            ("n", lambda v: heat.plume_demo(n=v), st.one_of(bad_positive_int, st.just(2))),
            ("half_width", lambda v: heat.plume_demo(half_width=v), bad_positive_real),
            ("D", lambda v: heat.plume_demo(D=v), bad_positive_real),
            ("wind", lambda v: heat.plume_demo(wind=v), bad_point),
            ("t", lambda v: heat.plume_demo(t=v), bad_positive_real),
            ("stack", lambda v: heat.plume_demo(stack=v), bad_point),
        ],
        "convergence_demo": [
            (
                "ns",
                lambda v: heat.convergence_demo(ns=v),
                st.sampled_from([[2, 41], [], "a", [4.5]]),
            ),
            ("D", lambda v: heat.convergence_demo(D=v), bad_positive_real),
            ("t_end", lambda v: heat.convergence_demo(t_end=v), bad_positive_real),
            ("r", lambda v: heat.convergence_demo(r=v), bad_positive_real),
        ],
        "kernel_gaussian": [
            (
                "x",
                lambda v: heat.kernel_gaussian(v, 1.0),
                st.one_of(junk, st.just(np.full(3, "a"))),
            ),
            ("var", lambda v: heat.kernel_gaussian(G5, v), bad_positive_real),
        ],
        "block_start": [
            ("x", lambda v: heat.block_start(v), st.one_of(junk, st.just(np.full(3, "a")))),
            ("half_width", lambda v: heat.block_start(G5, half_width=v), bad_positive_real),
            ("edge", lambda v: heat.block_start(G5, edge=v), not_real),
        ],
    },
    random_walk: {
        "msd": [
            ("paths", random_walk.msd, st.sampled_from([np.ones(3), np.ones((2, 2, 2, 2)), "a"]))
        ],
        "covariance_matrix": [
            (
                "paths",
                lambda v: random_walk.covariance_matrix(v, [0, 1]),
                st.sampled_from([np.ones(3), np.ones((1, 4)), np.full((3, 4), np.nan), "a"]),
            ),
            (
                "idx",
                lambda v: random_walk.covariance_matrix(PATHS, v),
                st.sampled_from([[0, 4], [-1], [], "a", [0.5]]),
            ),
        ],
    },
    sde: {
        "fit_order": [
            ("dts", lambda v: sde.fit_order(v, np.ones(3)), bad_order_x),
            ("errors", lambda v: sde.fit_order(np.array([0.1, 0.2, 0.4]), v), bad_order_err),
        ]
    },
    fokker_planck: {
        "flux_divergence": [
            ("sde", lambda v: fokker_planck.flux_divergence(v, FPP, FPX, 0.0), bad_sde),
            ("x", lambda v: fokker_planck.flux_divergence(OU, FPP[:3], v, 0.0), bad_fp_grid),
            ("p", lambda v: fokker_planck.flux_divergence(OU, v, FPX, 0.0), bad_field),
            ("t", lambda v: fokker_planck.flux_divergence(OU, FPP, FPX, v), not_real),
        ],
        "stable_dt": [
            ("sde", lambda v: fokker_planck.stable_dt(v, FPX, 0.0), bad_sde),
            ("x", lambda v: fokker_planck.stable_dt(OU, v, 0.0), bad_fp_grid),
            ("t", lambda v: fokker_planck.stable_dt(OU, FPX, v), not_real),
        ],
        "stationary_density": [
            ("sde", lambda v: fokker_planck.stationary_density(v, FPX), bad_sde),
            ("x", lambda v: fokker_planck.stationary_density(OU, v), bad_fp_grid),
        ],
    },
}
for _module, _cases in REST.items():
    TABLE[_module].update(_cases)

CASES = [
    pytest.param(call, arg, strategy, id=f"{mod.__name__.split('.')[-1]}.{name}.{arg}.{i}")
    for mod, functions in TABLE.items()
    for name, cases in functions.items()
    for i, (arg, call, strategy) in enumerate(cases)
]


@pytest.mark.parametrize("call, arg, strategy", CASES)
@given(data=st.data())
def test_bad_input_is_a_value_error_naming_the_argument(call, arg, strategy, data):
    bad = data.draw(strategy, label=arg)
    with pytest.raises(ValueError, match=arg):
        call(bad)


def _public(module):
    names = {}
    for name, obj in vars(module).items():
        if name.startswith("_") or not callable(obj):
            continue
        if getattr(obj, "__module__", None) != module.__name__ and name not in ("CheckpointError",):
            continue
        if inspect.isclass(obj) or inspect.isfunction(obj):
            names[name] = obj
    return names


def test_the_table_covers_every_public_function():
    covered, missing = 0, []
    for mod in TABLE:
        for name in _public(mod):
            if name in TABLE[mod]:
                covered += 1
            elif name not in NOTHING_TO_CHECK[mod]:
                missing.append(f"{mod.__name__}.{name}")
    cases = sum(len(c) for f in TABLE.values() for c in f.values())
    print(f"bad-input table: {covered} public functions in {len(TABLE)} modules, {cases} arguments")
    assert not missing, f"public functions missing from the table: {missing}"
