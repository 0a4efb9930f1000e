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

from diffcourse import checkpoint, metrics, train
from diffcourse.data import images
from diffcourse.nets import unet

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
        ],
        "optimizer": [("config", train.optimizer, junk)],
        "init_state": [
            (
                "model",
                lambda v: train.init_state(v, OPT),
                st.sampled_from([W(None), W(jnp.arange(3))]),
            ),
            ("opt", lambda v: train.init_state(MODEL, v), junk),
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
            ("images", lambda v: metrics.nearest_neighbour_distance(v, IMAGES), _images()),
            (
                "train",
                lambda v: metrics.nearest_neighbour_distance(IMAGES, v),
                st.one_of(_images(), _arrays((3, 4, 4))),
            ),
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
        "digits_classifier": "no arguments",
        "heldout_reference": "no arguments",
    },
}

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
