r"""Sample-quality and memorisation metrics for generated digits, each with a real-data scale.

A small classifier (an MLP, trained deterministically on the digits' training split in a couple of
seconds; the fitted weights ship with the package) provides a feature space and class probabilities. In it:

- the **Fréchet distance** (Heusel et al. 2017, "FID", eq. 6; here on the classifier's features,
  not Inception's) between two sets of images with feature means :math:`\mu_a,\mu_b` and
  covariances :math:`\Sigma_a,\Sigma_b`:

  .. math:: \mathrm{FD} = \|\mu_a-\mu_b\|^2 + \mathrm{tr}\big(\Sigma_a+\Sigma_b-2(\Sigma_a\Sigma_b)^{1/2}\big);

- **confidence**: the mean over images of the top class probability (sharp, recognisable digits);
- **class entropy**: the entropy (nats) of the histogram of predicted classes; :math:`\ln 10\approx 2.30`
  when all ten digits are equally frequent (mode coverage);
- **memorisation**: the distance of each image to its nearest training image in pixel space
  (:func:`nearest_neighbour_distance`, which also takes points (n, d) and returns the index), and
  :func:`memorised_fraction`, calibrated against fresh data.

:func:`evaluate` returns all of them; :func:`heldout_reference` the same numbers for the held-out
real split, the scale every generated figure is read against. :func:`benchmark_result` reads the
measurements the benchmark scripts store (sample quality against network calls or training time).
"""

import dataclasses
import functools
import json
import math
import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from diffcourse import _validate, checkpoint


class Classifier(eqx.Module):
    """An MLP ``pixels -> hidden -> features -> logits``; ``features`` is the last hidden layer."""

    layers: list
    head: eqx.nn.Linear

    def __init__(self, key, n_in: int, hidden=(128, 64), n_classes: int = 10):
        key = _validate.key("key", key)
        n_in = _validate.integer("n_in", n_in, minimum=1)
        hidden = _validate.ints("hidden", hidden, minimum=1)
        n_classes = _validate.integer("n_classes", n_classes, minimum=2)
        keys = jax.random.split(key, len(hidden) + 1)
        sizes = (n_in, *hidden)
        self.layers = [
            eqx.nn.Linear(a, b, key=k) for a, b, k in zip(sizes, sizes[1:], keys, strict=False)
        ]
        self.head = eqx.nn.Linear(sizes[-1], n_classes, key=keys[-1])

    def features(self, x):
        """Features of one image (any shape; flattened): the last hidden layer, after its ReLU."""
        h = jnp.ravel(x)
        for layer in self.layers:
            h = jax.nn.relu(layer(h))
        return h

    def __call__(self, x):
        return self.head(self.features(x))


def fit_classifier(images, labels, *, steps: int = 400, lr: float = 3e-3, seed: int = 0):
    """Train a :class:`Classifier` full-batch with Adam and a little input noise (deterministic).

    ``images`` (n, H, W) in [-1, 1], ``labels`` (n,) integers 0..9. Noise of std 0.1 on the inputs
    keeps the features smooth, so slightly imperfect samples are not pushed far away.
    Checked: finite images, labels of integer dtype in 0..9 matching n, ``steps`` an integer
    >= 1, ``lr`` a finite real > 0, ``seed`` an integer >= 0.
    """
    images = _images(images)
    steps = _validate.integer("steps", steps, minimum=1)
    lr = _validate.real("lr", lr, low=0.0, low_open=True)
    seed = _validate.integer("seed", seed, minimum=0)
    raw = np.asarray(labels)
    _validate.shape("labels", raw, (len(images),))
    if raw.dtype.kind not in "iu" or raw.min() < 0 or raw.max() > 9:
        raise _validate.fail(
            "labels", "integers in 0..9 (an integer array)", _validate._describe(raw)
        )
    x = jnp.asarray(images.reshape(len(images), -1))
    y = jnp.asarray(raw.astype(np.int32))
    key_init, key_noise = jax.random.split(jax.random.key(seed))
    with jax.enable_x64(False):
        model = Classifier(key_init, x.shape[1])
        opt = optax.adamw(lr, weight_decay=1e-4)
        state = opt.init(eqx.filter(model, eqx.is_array))

        def loss(model, key):
            xn = x + 0.1 * jax.random.normal(key, x.shape, x.dtype)
            logits = jax.vmap(model)(xn)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        @eqx.filter_jit
        def run(model, state):
            def body(carry, k):
                model, state = carry
                g = eqx.filter_grad(loss)(model, jax.random.fold_in(key_noise, k))
                updates, state = opt.update(g, state, eqx.filter(model, eqx.is_array))
                return (eqx.apply_updates(model, updates), state), None

            (model, state), _ = jax.lax.scan(body, (model, state), jnp.arange(steps))
            return model

        return run(model, state)


CLASSIFIER = pathlib.Path(__file__).parent / "assets" / "digits_classifier" / "classifier.ckpt"
CLASSIFIER_FIT = {"steps": 400, "lr": 3e-3, "seed": 0}  # fit_classifier's defaults


@functools.lru_cache(maxsize=1)
def digits_classifier():
    """The classifier of the digits' training split: ``fit_classifier`` with its defaults, stored
    in ``diffcourse/assets/digits_classifier/`` (written by :func:`write_digits_classifier`) so
    every process and every CPU scores samples with the same weights; a test refits it and
    compares. Loaded once per process."""
    with jax.enable_x64(False):  # the classifier is float32, as fit_classifier trains it
        like = Classifier(jax.random.key(0), 64)
    model, meta = checkpoint.load(CLASSIFIER, like)
    if meta.get("fit") != CLASSIFIER_FIT:
        raise checkpoint.CheckpointError(
            f"{CLASSIFIER} was fitted with {meta.get('fit')}, not {CLASSIFIER_FIT}"
        )
    return model


def write_digits_classifier(path=CLASSIFIER) -> pathlib.Path:
    """Fit the digits classifier (:func:`fit_classifier` on the training split) and save it:
    ``python -c "from diffcourse import metrics; metrics.write_digits_classifier()"``."""
    from diffcourse.data import images as data

    path = _validate._as_path("path", path)  # before the fit
    x, y = data.load_digits("train")
    clf = fit_classifier(x, y, **CLASSIFIER_FIT)
    return checkpoint.save(path, clf, {"fit": CLASSIFIER_FIT, "data": "load_digits train split"})


def _images(images, name="images", clf=None):
    """``images`` (n, H, W) or (n, H, W, 1) as float32 (n, H, W): numeric, non-empty, finite.

    With ``clf``, H * W must be the classifier's input size.
    """
    a = _validate.array(name, images, finite=False)
    if a.ndim == 4 and a.shape[-1] == 1:
        a = a[..., 0]
    _validate.shape(name, a, (None, None, None))
    if 0 in a.shape:
        raise _validate.fail(name, "a non-empty array (n, H, W)", f"shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contain NaN or inf; {name} must be finite")
    if clf is not None and a.shape[1] * a.shape[2] != clf.layers[0].in_features:
        n_in = clf.layers[0].in_features
        raise _validate.fail(
            name,
            f"images of {n_in} pixels for this classifier (8x8 for the digits one)",
            f"shape {a.shape}",
        )
    return a.astype(np.float32)


@eqx.filter_jit
def _features(clf, x):
    return jax.vmap(clf.features)(x)


@eqx.filter_jit
def _logits(clf, x):
    return jax.vmap(clf)(x)


def _classifier(clf):
    if clf is None:
        return digits_classifier()
    if not isinstance(clf, Classifier):
        raise _validate.fail("clf", "a metrics.Classifier (or None: the digits one)", repr(clf))
    return clf


def features(images, clf=None):
    """Classifier features of ``images`` (n, H, W): shape (n, k), float64."""
    clf = _classifier(clf)
    with jax.enable_x64(False):
        f = _features(clf, jnp.asarray(_images(images, clf=clf)))
    return np.asarray(f, np.float64)


def probabilities(images, clf=None):
    """Class probabilities (n, 10) of ``images`` (n, H, W)."""
    clf = _classifier(clf)
    with jax.enable_x64(False):
        logits = _logits(clf, jnp.asarray(_images(images, clf=clf)))
    return np.asarray(jax.nn.softmax(logits, axis=-1), np.float64)


def frechet_distance(feat_a, feat_b):
    r"""Fréchet distance between Gaussians fitted to two feature sets (n_a, k) and (n_b, k).

    :math:`\|\mu_a-\mu_b\|^2+\mathrm{tr}(\Sigma_a+\Sigma_b-2(\Sigma_a\Sigma_b)^{1/2})`, the
    2-Wasserstein distance squared between the Gaussians (Dowson & Landau 1982).
    """
    a = _validate.array("feat_a", feat_a, ndim=2)
    b = _validate.array("feat_b", feat_b, ndim=2)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(
            f"feat_a, feat_b must be (n, k) with the same k and n >= 2; got {a.shape}, {b.shape}"
        )
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr (S_a S_b)^{1/2} = tr (S_a^{1/2} S_b S_a^{1/2})^{1/2}: symmetric, so eigh is stable
    w, v = np.linalg.eigh(cov_a)
    half = (v * np.sqrt(np.maximum(w, 0.0))) @ v.T
    tr_root = np.sum(np.sqrt(np.maximum(np.linalg.eigvalsh(half @ cov_b @ half), 0.0)))
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * tr_root)


def _probs(probs):
    """``probs`` (n, K): n >= 1, K >= 2, entries in [0, 1], rows summing to 1 (to 1e-4)."""
    p = _validate.array("probs", probs, ndim=2)
    if p.shape[1] < 2 or p.min() < 0 or p.max() > 1 or np.abs(p.sum(1) - 1).max() > 1e-4:
        raise _validate.fail(
            "probs",
            "an (n, K) array of probabilities (K >= 2, rows summing to 1)",
            _validate._describe(p),
        )
    return p


def confidence(probs):
    """Mean over images of the largest class probability; ``probs`` (n, K) rows summing to 1."""
    return float(np.mean(np.max(_probs(probs), axis=1)))


def class_entropy(probs):
    r"""Entropy (nats) of the predicted-class histogram: :math:`-\sum_k h_k\ln h_k`, at most :math:`\ln K`."""
    probs = _probs(probs)
    counts = np.bincount(np.argmax(probs, axis=1), minlength=probs.shape[1])
    h = counts[counts > 0] / counts.sum()
    return float(-np.sum(h * np.log(h)))


def _batch(name, x):
    """``x`` (n, ...) as float64 (n, d), each item flattened: numeric, finite, n >= 1, d >= 1."""
    a = _validate.array(name, x, min_ndim=2)
    if a.ndim < 2 or a.shape[0] == 0 or a[0].size == 0:
        raise _validate.fail(name, "a non-empty batch (n, ...) of points or images", a.shape)
    return a.reshape(len(a), -1).astype(np.float64)


def nearest_neighbour_distance(x, train, *, index: bool = False):
    r"""Euclidean distance of each item of ``x`` to its nearest item of ``train``: shape (n,).

    ``x`` (n, ...) and ``train`` (N, ...) are batches of points (n, d) or images (n, H, W), compared
    flattened (items of the same size). With ``index=True`` returns ``(distance, index)``, ``index``
    (n,) the position in ``train`` of each nearest item (``train[index]`` are the nearest training
    images). :math:`\|a-b\|^2 = \|a\|^2+\|b\|^2-2a\cdot b` in float64, one matrix product.
    """
    a, b = _batch("x", x), _batch("train", train)
    index = _validate.flag("index", index)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"x and train must hold items of the same size; got x {np.shape(x)}, train {np.shape(train)}"
        )
    d2 = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2.0 * a @ b.T
    k = np.argmin(d2, axis=1)
    dist = np.sqrt(np.maximum(d2[np.arange(len(a)), k], 0.0))
    return (dist, k) if index else dist


def evaluate(images, *, reference=None, train=None, clf=None):
    """All metrics of ``images`` (n, H, W) against the digits' training split (or ``reference``/``train``).

    Returns a dict: ``fd`` (Fréchet distance to the training split's features), ``confidence``,
    ``class_entropy``, ``nn_median`` and ``nn_min`` (pixel distance to the nearest training image).
    """
    from diffcourse.data import images as data

    clf = _classifier(clf)
    images = _images(images, clf=clf)
    train = data.load_digits("train")[0] if train is None else _images(train, "train")
    reference = train if reference is None else _images(reference, "reference", clf=clf)
    probs = probabilities(images, clf)
    nn = nearest_neighbour_distance(images, train)  # both (n, H, W) float32, checked above
    return {
        "fd": frechet_distance(features(images, clf), features(reference, clf)),
        "confidence": confidence(probs),
        "class_entropy": class_entropy(probs),
        "nn_median": float(np.median(nn)),
        "nn_min": float(np.min(nn)),
    }


@functools.lru_cache(maxsize=1)
def heldout_reference():
    """:func:`evaluate` of the 297 held-out real digits: the scale for every generated sample."""
    from diffcourse.data import images as data

    return evaluate(data.load_digits("heldout")[0])


def memorised_fraction(samples, train, reference, q: float = 0.05) -> float:
    r"""Memorisation, calibrated: the fraction of ``samples`` closer to their nearest training point
    than the ``q``-quantile of the nearest-training distances of ``reference`` (fresh data the model
    never saw, e.g. held-out digits). Fresh data scores ``q`` by construction; a sampler that copies
    its training set scores near 1. Arrays (n, ...) of any sample shape, compared flattened."""
    for name, a in (("samples", samples), ("train", train), ("reference", reference)):
        if np.ndim(a) < 2 or len(a) < 1:
            raise _validate.fail(name, "a non-empty batch (n, ...)", f"shape {np.shape(a)}")
    _validate.real("q", q, low=0.0, high=1.0, low_open=True, high_open=True)
    threshold = np.quantile(nearest_neighbour_distance(reference, train), q)
    return float(np.mean(nearest_neighbour_distance(samples, train) < threshold))


def gaussian_baseline(train, n: int, seed: int = 0):
    r"""``n`` draws of the full-covariance Gaussian fitted to the pixels of ``train`` (N, H, W):
    :math:`\mathcal N(\bar y, \hat\Sigma)` with the training mean and covariance, not clipped (clipping
    to [-1, 1] more than doubles its Fréchet distance: the unclipped one is the stronger baseline).
    A baseline with no network: any quality bar worth stating must fail it. Returns (n, H, W)."""
    train = _images(train, "train")
    n = _validate.integer("n", n, minimum=1, maximum=10**6)
    seed = _validate.integer("seed", seed, minimum=0)
    flat = train.reshape(len(train), -1).astype(np.float64)
    draws = np.random.default_rng(seed).multivariate_normal(
        flat.mean(0), np.cov(flat, rowvar=False), size=n, method="eigh"
    )
    return draws.reshape(n, *train.shape[1:]).astype(np.float32)


REFERENCE_ROWS = ("training subset (floor)", "held-out real digits", "pixel Gaussian (no net)")


def reference_samples(train, heldout, n: int = 297) -> dict:
    r"""The three rows that give a sample-quality table its scale, as makers ``seed -> images``
    (for :func:`score_over_seeds`), keyed by :data:`REFERENCE_ROWS`:

    - ``"training subset (floor)"``: ``n`` training images drawn without replacement (seed ``s``:
      ``np.random.default_rng(s)``; at most all of them), scored against the training set they
      come from: the finite-sample floor of the Fréchet distance;
    - ``"held-out real digits"``: the first ``n`` of ``heldout`` (the same for every seed): real
      data the classifier did not train on;
    - ``"pixel Gaussian (no net)"``: :func:`gaussian_baseline` of ``train``: a model with no network.
    """
    train = _images(train, "train")
    heldout = _images(heldout, "heldout")
    n = _validate.integer("n", n, minimum=1, maximum=10**6)
    m = min(n, len(train))
    makers = (
        lambda s: train[np.random.default_rng(s).choice(len(train), m, replace=False)],
        lambda s: heldout[:n],
        lambda s: gaussian_baseline(train, n, s),
    )
    return dict(zip(REFERENCE_ROWS, makers, strict=True))


SCORES = ("fd", "confidence", "class_entropy")
LABELS = {"fd": "FD", "confidence": "confidence", "class_entropy": "class entropy"}


def scores_by_seed(make, seeds=(0, 1, 2), **evaluate_kw):
    r"""Score a sampler seed by seed: :func:`evaluate` of ``make(seed)`` (images (n, H, W)) for
    each of ``seeds``. Returns ``{metric: [value per seed]}`` for FD, confidence and class entropy,
    in the order of ``seeds``: the per-seed values that a paired comparison of two samplers on the
    same seeds needs (:func:`score_over_seeds` summarises them). ``evaluate_kw`` go to
    :func:`evaluate`."""
    if not callable(make):
        raise _validate.fail("make", "a function seed -> images (n, H, W)", repr(make))
    seeds = _validate.ints("seeds", seeds, minimum=0)
    rows = [evaluate(np.asarray(make(seed)), **evaluate_kw) for seed in seeds]
    return {k: [float(r[k]) for r in rows] for k in SCORES}


def score_over_seeds(make, seeds=(0, 1, 2), **evaluate_kw):
    r"""Score a sampler over seeds: the mean and SD over ``seeds`` of :func:`scores_by_seed`.
    Returns ``{metric: (mean, sd)}`` for FD, confidence and class entropy, the SD over seeds with
    ``ddof = 0`` (a row of :func:`format_table`). ``evaluate_kw`` go to :func:`evaluate`."""
    values = scores_by_seed(make, seeds, **evaluate_kw)
    return {k: (float(np.mean(v)), float(np.std(v))) for k, v in values.items()}


def format_table(rows) -> str:
    """The text table of ``rows``, ``{name: {metric: (mean, sd)}}`` (rows of
    :func:`score_over_seeds`): one line per row, ``mean ± sd`` to two decimals per metric."""
    if not isinstance(rows, dict) or not rows:
        raise _validate.fail(
            "rows", "a non-empty dict {name: {metric: (mean, sd)}}", repr(rows)[:200]
        )
    keys = None
    for row in rows.values():
        ok = isinstance(row, dict) and row and all(np.shape(v) == (2,) for v in row.values())
        if not ok or (keys is not None and list(row) != keys):
            raise _validate.fail(
                "rows", "a dict of rows {metric: (mean, sd)} with the same metrics", repr(row)[:200]
            )
        keys = list(row)
    width = max(len(str(name)) for name in rows) + 2
    lines = [f"{'':{width}s}" + "".join(f" {LABELS.get(k, k):>13s}  " for k in keys)]
    for name, row in rows.items():
        lines.append(
            f"{name!s:{width}s}" + "".join(f" {m:6.2f} ± {s:4.2f}  " for m, s in row.values())
        )
    return "\n".join(line.rstrip() for line in lines)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """What :func:`compare` returns. ``difference``: mean of a minus mean of b; ``se``: its
    standard error; ``n_a``, ``n_b``: the replicates on each side; ``lower``, ``upper``:
    ``difference -/+ 2 se``; ``verdict``: ``"no difference measured"``, ``"<name> lower"`` or
    ``"<name> higher"`` (the name of a); ``paired``: differences per seed (True) or Welch's
    two-sample SE (False); ``units``: what each side's replicates are (``"seeds"``,
    ``"training seeds"``, or ``"sampling seeds (one training seed)"`` when a 2-D side had a single
    training seed); ``names``: the names of a and b."""

    difference: float
    se: float
    n_a: int
    n_b: int
    lower: float
    upper: float
    verdict: str
    paired: bool
    units: tuple
    names: tuple

    def __str__(self) -> str:
        # two significant digits of the SE, and at least two decimals
        digits = 2 if self.se <= 0 else max(2, 1 - math.floor(math.log10(self.se)))
        name_a, name_b = self.names
        unit_a, unit_b = self.units
        if self.paired:
            count = f"{self.n_a} paired {unit_a}"
        elif unit_a == unit_b:
            count = f"Welch, {self.n_a} and {self.n_b} {unit_a}"
        else:
            count = f"Welch, {self.n_a} {unit_a} and {self.n_b} {unit_b}"
        return (
            f"{name_a} - {name_b} = {self.difference:.{digits}f} ± {self.se:.{digits}f} "
            f"(SE, {count}): {self.verdict}"
        )


def _replicates(name, scores):
    """``scores`` (seeds,) or (training seeds, sampling seeds) -> (replicates (n,), unit)."""
    s = _validate.array(name, scores)
    if s.ndim not in (1, 2):
        raise _validate.fail(
            name, "scores of shape (seeds,) or (training seeds, sampling seeds)", f"shape {s.shape}"
        )
    if s.ndim == 1:
        values, unit = s, "seeds"
    elif len(s) == 1:  # one training seed: its sampling seeds are all the replication there is
        values, unit = s[0], "sampling seeds (one training seed)"
    else:
        values, unit = s.mean(axis=1), "training seeds"
    if len(values) < 2:
        raise _validate.fail(
            name, f"at least 2 {unit.split(' (')[0]} (a spread needs two)", f"shape {s.shape}"
        )
    return values.astype(np.float64), unit


def compare(a_scores, b_scores, *, names=("a", "b"), paired=None, unit=None) -> Comparison:
    r"""Is a's score different from b's, given the spread over seeds? The mean difference, its
    standard error and a verdict at 2 SE.

    ``a_scores``, ``b_scores``: one score (e.g. the FD) per seed, shape (seeds,) (the lists of
    :func:`scores_by_seed`), or per (training seed, sampling seed), shape (m, k). In 2-D the
    sampling axis is averaged first, so the replicate is the training seed (re-training varies
    the score more than re-sampling does: Bouthillier et al. 2021, *Accounting for variance in
    machine learning benchmarks*, MLSys); with a single training seed (shape (1, k)) the sampling
    seeds are the replicates, which leaves out the training variation, and ``units`` says so.

    With :math:`\bar a, \bar b` the means of :math:`n_a, n_b` replicates, :math:`D = \bar a - \bar b`,

    - paired (the same seeds on both sides; default when the shapes agree, or ``paired=True``):
      :math:`d_i = a_i - b_i`, :math:`\mathrm{SE} = s_d/\sqrt n` (Student 1908);
    - unpaired (``paired=False``, or shapes that differ): Welch's
      :math:`\mathrm{SE} = \sqrt{s_a^2/n_a + s_b^2/n_b}` (Welch 1947, *Biometrika* 34, 28),

    sample variances with :math:`n - 1`. The verdict is ``"no difference measured"`` when
    :math:`|D| \le 2\,\mathrm{SE}`, else ``"<name of a> lower"`` or ``"... higher"``; ``lower``,
    ``upper`` are :math:`D \mp 2\,\mathrm{SE}`. Two SE is the normal 95 % rule: with few seeds
    Student's quantile is larger (4.30 for 3 paired seeds), so a verdict is a screen, not a 5 %
    test. ``unit`` names the replicates of 1-D scores when they are not seeds (e.g.
    ``"digits"`` for per-image scores). Checked: finite numbers of 1 or 2 axes, at least 2
    replicates a side, ``names`` two non-empty strings, ``paired`` None, True or False, ``unit``
    None or a non-empty string, and with ``paired=True`` one shape.

    Examples:
        >>> print(compare([6.1, 6.4, 6.0], [6.9, 7.1, 6.8], names=("ddim", "euler")))
        ddim - euler = -0.767 ± 0.033 (SE, 3 paired seeds): ddim lower
    """
    ok = isinstance(names, (tuple, list)) and len(names) == 2
    if not ok or not all(isinstance(n, str) and n for n in names):
        raise _validate.fail("names", "two non-empty strings, e.g. ('ddim', 'euler')", repr(names))
    if paired is not None:
        paired = _validate.flag("paired", paired)
    if unit is not None and not (isinstance(unit, str) and unit.strip()):
        raise _validate.fail("unit", "None or a non-empty string such as 'digits'", repr(unit))
    a, unit_a = _replicates("a_scores", a_scores)
    b, unit_b = _replicates("b_scores", b_scores)
    if unit is not None:
        unit_a = unit if unit_a == "seeds" else unit_a
        unit_b = unit if unit_b == "seeds" else unit_b
    same = np.shape(a_scores) == np.shape(b_scores)
    if paired and not same:
        raise _validate.fail(
            "b_scores",
            f"of a_scores' shape {np.shape(a_scores)} for a paired comparison (paired=True)",
            f"shape {np.shape(b_scores)}",
        )
    paired = same if paired is None else paired
    difference = float(a.mean() - b.mean())
    if paired:
        se = float(np.std(a - b, ddof=1) / np.sqrt(len(a)))
    else:
        se = float(np.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b)))
    if abs(difference) <= 2 * se:
        verdict = "no difference measured"
    else:
        verdict = f"{names[0]} {'lower' if difference < 0 else 'higher'}"
    return Comparison(
        difference=difference,
        se=se,
        n_a=len(a),
        n_b=len(b),
        lower=difference - 2 * se,
        upper=difference + 2 * se,
        verdict=verdict,
        paired=paired,
        units=(unit_a, unit_b),
        names=tuple(names),
    )


def compare_summaries(a, b, n: int, *, names=("a", "b")) -> Comparison:
    r""":func:`compare` for results stored as ``(mean, sd)`` over ``n`` seeds on each side (the
    rows of :func:`score_over_seeds`, whose SD has ``ddof = 0``), when the per-seed values are
    gone: Welch's unpaired SE :math:`\sqrt{(s_a^2 + s_b^2)/(n-1)}` (the ``ddof = 0`` SDs turned
    into sample variances by :math:`n/(n-1)`). Unpaired, so more cautious than a paired comparison
    of the same seeds would be. The same verdict at 2 SE.

    Examples:
        >>> print(compare_summaries((6.28, 1.8), (7.59, 3.6), 3, names=("ours", "peer")))
        ours - peer = -1.31 ± 2.85 (SE, Welch, 3 and 3 seeds): no difference measured
    """
    n = _validate.integer("n", n, minimum=2)
    pair = []
    for name, side in (("a", a), ("b", b)):
        v = _validate.array(name, side)
        if v.shape != (2,) or v[1] < 0:
            raise _validate.fail(name, "a pair (mean, sd) with sd >= 0", repr(side))
        pair.append(v)
    (ma, sa), (mb, sb) = pair
    scale = np.sqrt(n / (n - 1))  # ddof = 0 -> ddof = 1
    # n values with the given mean and sample SD: what compare needs, and nothing more
    unit = np.r_[np.full(n - 1, -1.0), n - 1.0] / np.sqrt(n - 1) * np.sqrt((n - 1) / n)
    unit = unit / np.std(unit, ddof=1)
    return compare(ma + sa * scale * unit, mb + sb * scale * unit, names=names, paired=False)


RESULTS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def benchmark_result(name: str) -> dict:
    """A measurement stored by one of the repository's benchmark scripts: the JSON file
    ``benchmarks/results/NAME.json`` (e.g. ``"sampler_curve"``, written by
    ``benchmarks/sampler_curve.py``), parsed. The notebooks read long measurements this way
    instead of repeating them. They come with a clone of the repository (the course's
    ``pip install -e .``), not with an installed wheel: then a ``FileNotFoundError`` says so;
    an unknown name is a ``ValueError`` that lists the stored ones."""
    if (
        not isinstance(name, str)
        or not name
        or any(c in name for c in "/\\")
        or name.startswith(".")
        or name.endswith(".json")
    ):
        raise _validate.fail(
            "name", "the name of a stored result without .json, e.g. 'sampler_curve'", repr(name)
        )
    if not RESULTS.is_dir():
        raise FileNotFoundError(
            "the stored benchmark results (benchmarks/results/) are not beside this diffcourse: "
            "they come with a clone of the repository, installed with pip install -e ."
        )
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        stored = sorted(p.stem for p in RESULTS.glob("*.json"))
        raise ValueError(f"no stored benchmark result {name!r}; stored: {stored}")
    return json.loads(path.read_text())
