"""The trainer: convergence to a closed form, EMA recursion, exact resume, safe checkpoints,
non-finite losses, and data parallelism over two fake CPU devices."""

import json
import os
import subprocess
import sys
import textwrap

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diffcourse import checkpoint, train


class Linear(eqx.Module):
    w: jax.Array
    b: jax.Array

    def __init__(self, dim):
        self.w = jnp.zeros(dim)
        self.b = jnp.zeros(())

    def __call__(self, x):
        return x @ self.w + self.b


def mse(model, key, batch):
    x, y = batch[:, :-1], batch[:, -1]
    return jnp.mean((jax.vmap(model)(x) - y) ** 2)


def regression_data(n=256, dim=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim))
    y = x @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.1 * rng.normal(size=n)
    return np.concatenate([x, y[:, None]], axis=1)


def leaves(model):
    return [np.asarray(v) for v in jax.tree.leaves(model)]


def test_fit_reaches_least_squares_minimum():
    data = regression_data()
    config = train.TrainConfig(steps=600, batch_size=64, lr=3e-2, warmup=20, log_every=100)
    model = Linear(3)
    result = train.fit(jax.random.key(0), model, mse, data, config, progress=False)
    # the caller's model is left intact (the compiled step donates only its own copy)
    np.testing.assert_array_equal(np.asarray(model.w), np.zeros(3))
    x1 = np.concatenate([data[:, :3], np.ones((len(data), 1))], axis=1)
    coef, *_ = np.linalg.lstsq(x1, data[:, 3], rcond=None)
    # Adam at a constant step size hovers within ~lr of the minimiser; the EMA averages that out.
    np.testing.assert_allclose(np.asarray(result.ema_model.w), coef[:3], atol=5e-3)
    np.testing.assert_allclose(float(result.ema_model.b), coef[3], atol=5e-3)
    assert result.steps_done == 600 and not result.stopped_early
    assert result.history["loss"].shape == (600,)
    assert result.history["loss"][-50:].mean() < 0.02 * result.history["loss"][:5].mean()


def test_ema_follows_its_recursion():
    """ema_k = b_k ema_{k-1} + (1 - b_k) theta_k with b_k = min(decay, (1 + k)/(10 + k))."""
    data, decay, steps = regression_data(), 0.9, 6
    thetas = []
    for k in range(steps + 1):
        if k == 0:
            thetas.append(leaves(Linear(3)))
            continue
        config = train.TrainConfig(steps=k, batch_size=32, lr=1e-2, warmup=0, ema_decay=decay)
        thetas.append(
            leaves(train.fit(jax.random.key(1), Linear(3), mse, data, config, progress=False).model)
        )
    config = train.TrainConfig(steps=steps, batch_size=32, lr=1e-2, warmup=0, ema_decay=decay)
    result = train.fit(jax.random.key(1), Linear(3), mse, data, config, progress=False)
    ema = thetas[0]
    for k in range(steps):
        beta = min(decay, (1 + k) / (10 + k))
        ema = [beta * e + (1 - beta) * p for e, p in zip(ema, thetas[k + 1], strict=True)]
    for got, want in zip(leaves(result.ema_model), ema, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


class Noisy(eqx.Module):
    """A model whose loss uses the step's PRNG key, so resume must restore the key stream too."""

    w: jax.Array

    def __init__(self):
        self.w = jnp.zeros(3)


def noisy_loss(model, key, batch):
    eps = jax.random.normal(key, batch[:, :3].shape)
    return jnp.mean((batch[:, :3] + 0.1 * eps - model.w) ** 2)


@pytest.mark.parametrize("decay", [0, 10])
def test_resume_gives_the_uninterrupted_result(tmp_path, decay):
    """Stopped at step 5 and resumed to 10: the weights of an uninterrupted run, with the rate
    constant after the warm-up (decay 0) and along the cosine that ends at step 10 (the command
    line's default), whose position is the step restored from the checkpoint."""
    data, n = regression_data(), 10
    kw = dict(batch_size=32, lr=1e-2, warmup=4, checkpoint_every=3, log_every=2)
    full = train.TrainConfig(steps=n, lr_decay_steps=decay, **kw)
    half = train.TrainConfig(steps=n // 2, lr_decay_steps=decay, **kw)
    key = jax.random.key(7)
    straight = train.fit(
        key, Noisy(), noisy_loss, data, full, out_dir=tmp_path / "a", progress=False
    )
    train.fit(key, Noisy(), noisy_loss, data, half, out_dir=tmp_path / "b", progress=False)
    resumed = train.fit(
        jax.random.key(999),  # ignored: the key stream comes from the checkpoint
        Noisy(),
        noisy_loss,
        data,
        full,
        out_dir=tmp_path / "b",
        resume=True,
        progress=False,
    )
    for a, b in zip(
        leaves(straight.model) + leaves(straight.ema_model),
        leaves(resumed.model) + leaves(resumed.ema_model),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    # The log of the resumed run reads like the uninterrupted one.
    steps = lambda d: [
        json.loads(line)["step"] for line in (d / "log.jsonl").read_text().splitlines()
    ]
    # the interrupted run also logged at its own last step, 5
    assert steps(tmp_path / "a") == [2, 4, 6, 8, 10]
    assert steps(tmp_path / "b") == [2, 4, 5, 6, 8, 10]


def test_training_keeps_the_model_dtype(tmp_path):
    """A float32 model stays float32 (params, EMA, checkpoint) even with float64 enabled."""
    model = jax.tree.map(lambda x: x.astype(jnp.float32), Linear(3))
    config = train.TrainConfig(steps=3, batch_size=32, warmup=1)
    result = train.fit(
        jax.random.key(0), model, mse, regression_data(), config, out_dir=tmp_path, progress=False
    )
    dtypes = {x.dtype for x in jax.tree.leaves((result.model, result.ema_model))}
    assert dtypes == {jnp.dtype("float32")}
    train.fit(
        jax.random.key(0),
        model,
        mse,
        regression_data(),
        train.TrainConfig(steps=5, batch_size=32, warmup=1),
        out_dir=tmp_path,
        resume=True,
        progress=False,
    )  # the float32 checkpoint loads into a float32 model


def test_kill_after_a_checkpoint_resumes_exactly(tmp_path):
    """A run killed between checkpoints (its log ran ahead) resumes from the last checkpoint."""
    data, key = regression_data(), jax.random.key(3)
    cfg = lambda steps: train.TrainConfig(
        steps=steps, batch_size=32, lr=1e-2, warmup=0, checkpoint_every=4, log_every=1
    )
    straight = train.fit(key, Noisy(), noisy_loss, data, cfg(9), progress=False)
    train.fit(key, Noisy(), noisy_loss, data, cfg(6), out_dir=tmp_path, progress=False)
    # "Kill" at step 6: the last checkpoint is step 6's final one; make the newest unreadable so
    # only the step-4 checkpoint survives, as if the process died while writing step 6.
    (tmp_path / train.CHECKPOINT).write_bytes(b"garbage")
    with pytest.warns(RuntimeWarning, match="skipping unreadable checkpoint"):
        resumed = train.fit(
            key, Noisy(), noisy_loss, data, cfg(9), out_dir=tmp_path, resume=True, progress=False
        )
    for a, b in zip(leaves(straight.model), leaves(resumed.model), strict=True):
        np.testing.assert_array_equal(a, b)
    logged = [
        json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()
    ]
    assert logged == list(range(1, 10))


def test_truncated_checkpoint_is_a_clear_error_and_previous_survives(tmp_path):
    tree = {"a": jnp.arange(5.0), "b": jnp.ones((2, 2))}
    path, prev = tmp_path / train.CHECKPOINT, tmp_path / train.PREVIOUS
    checkpoint.save(path, tree, {"step": 1}, previous=prev)
    checkpoint.save(path, jax.tree.map(lambda x: 2 * x, tree), {"step": 2}, previous=prev)
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(train.CheckpointError, match="truncated"):
        train.load_checkpoint(tmp_path, tree)
    previous, meta = train.load_checkpoint(tmp_path / train.PREVIOUS, tree)
    assert meta == {"step": 1}
    np.testing.assert_array_equal(previous["a"], np.arange(5.0))


def test_corrupt_and_mismatched_checkpoints_are_rejected(tmp_path):
    tree = {"a": jnp.arange(5.0)}
    path = train.save_checkpoint(tmp_path / "c.ckpt", tree, {"k": 1})
    assert train.read_meta(path) == {"k": 1}
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(train.CheckpointError, match="SHA-256"):
        train.load_checkpoint(path, tree)
    with pytest.raises(train.CheckpointError, match="not a diffcourse checkpoint"):
        (tmp_path / "x.ckpt").write_bytes(b"PK\x03\x04 something else")
        train.load_checkpoint(tmp_path / "x.ckpt", tree)
    good = train.save_checkpoint(tmp_path / "d.ckpt", tree)
    with pytest.raises(train.CheckpointError, match="does not fit"):
        train.load_checkpoint(good, {"a": jnp.arange(6.0)})
    with pytest.raises(train.CheckpointError, match="no checkpoint"):
        train.load_checkpoint(tmp_path / "missing.ckpt", tree)


class Scalar(eqx.Module):
    w: jax.Array

    def __init__(self):
        self.w = jnp.zeros(())


def blows_up(model, key, batch):
    """Finite while w < 2, NaN after: Adam walks w towards 5 at about lr per step."""
    return jnp.where(model.w < 2.0, (model.w - 5.0) ** 2, jnp.nan) + 0.0 * batch.sum()


def test_non_finite_loss_stops_with_last_good_parameters(tmp_path):
    data = np.zeros((8, 1))
    cfg = lambda steps: train.TrainConfig(steps=steps, batch_size=8, lr=0.3, warmup=0, log_every=5)
    train.fit(jax.random.key(0), Scalar(), blows_up, data, cfg(2), out_dir=tmp_path, progress=False)
    with pytest.warns(RuntimeWarning, match="not finite at step"):
        result = train.fit(jax.random.key(0), Scalar(), blows_up, data, cfg(50), progress=False)
    assert result.stopped_early and "last good" in result.message
    assert np.isfinite(float(result.model.w)) and float(result.model.w) >= 2.0 - 0.3
    good = train.fit(
        jax.random.key(0), Scalar(), blows_up, data, cfg(result.steps_done), progress=False
    )
    assert float(good.model.w) == float(result.model.w)
    assert np.isnan(result.history["loss"][result.steps_done])
    # the checkpoint of the earlier, healthy run in tmp_path is untouched by a failing run
    assert train.read_meta(tmp_path)["step"] == 2


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        train.TrainConfig(steps=0)
    with pytest.raises(ValueError, match="ema_decay"):
        train.TrainConfig(steps=1, ema_decay=1.0)
    with pytest.raises(ValueError, match="lr must be positive"):
        train.TrainConfig(steps=1, lr=-1e-3)
    with pytest.raises(ValueError, match="warmup"):
        train.TrainConfig(steps=1, warmup=-1)
    cfg = train.TrainConfig(steps=1, batch_size=16)
    with pytest.raises(ValueError, match="larger than the data set"):
        train.fit(jax.random.key(0), Linear(3), mse, regression_data(n=8), cfg, progress=False)
    with pytest.raises(ValueError, match="NaN"):
        bad = regression_data()
        bad[3, 1] = np.nan
        train.fit(jax.random.key(0), Linear(3), mse, bad, cfg, progress=False)
    with pytest.raises(ValueError, match="needs out_dir"):
        train.fit(jax.random.key(0), Linear(3), mse, regression_data(), cfg, resume=True)


_TWO_DEVICE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax, jax.numpy as jnp, numpy as np
    jax.config.update("jax_enable_x64", True)
    sys.path.insert(0, sys.argv[1])
    from test_train import Noisy, noisy_loss, regression_data
    from diffcourse import checkpoint, train
    cfg = train.TrainConfig(steps=6, batch_size=32, lr=1e-2, warmup=2, log_every=3)
    res = train.fit(jax.random.key(5), Noisy(), noisy_loss, regression_data(), cfg, progress=False)
    mesh = train.data_mesh()
    model = Noisy()
    opt = train.optimizer(cfg)
    state = jax.device_put(train.init_state(model, opt), jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec()))
    step = train.make_step(model, noisy_loss, opt, cfg.ema_decay, mesh)
    batch = jax.device_put(regression_data()[:32], jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch")))
    compiled = step.lower(state, batch, jax.random.key_data(jax.random.key(5))).compile()
    batch_in = compiled.input_shardings[0][1]
    print(json.dumps({
        "devices": jax.device_count(),
        "loss": res.history["loss"].tolist(),
        "w": np.asarray(res.model.w).tolist(),
        "batch_spec": list(batch_in.spec),
        "shard_rows": sorted(s.data.shape[0] for s in batch.addressable_shards),
    }))
    """
)


def _run(devices: int) -> dict:
    env = dict(
        os.environ,
        JAX_PLATFORMS="cpu",
        XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
    )
    here = os.path.dirname(__file__)
    out = subprocess.run(
        [sys.executable, "-c", _TWO_DEVICE_SCRIPT, here],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_two_fake_devices_shard_the_batch_and_agree_with_one():
    one, two = _run(1), _run(2)
    assert (one["devices"], two["devices"]) == (1, 2)
    assert two["batch_spec"] == ["batch"]
    assert two["shard_rows"] == [16, 16] and one["shard_rows"] == [32]
    # The same mathematics, summed in another order: equal to float64 round-off.
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=1e-12)
    np.testing.assert_allclose(two["w"], one["w"], rtol=1e-10)


# --------------------------------------------------------------------------------------------
# the reliability cases of issue 14


class Tiny(eqx.Module):
    w: jax.Array


def test_nan_gradient_with_a_finite_loss_returns_the_last_good_parameters():
    """|w| is finite at w = 0 but its gradient is 0/0: the guard must look at the gradient."""
    loss = lambda m, k, b: jnp.sqrt(jnp.sum(m.w**2)) + 0.0 * b.sum()
    cfg = train.TrainConfig(steps=4, batch_size=4, log_every=2, warmup=0)
    with pytest.warns(RuntimeWarning, match="not finite at step 1"):
        r = train.fit(
            jax.random.key(0), Tiny(jnp.zeros(1)), loss, np.ones((8, 1)), cfg, progress=False
        )
    assert r.stopped_early and r.steps_done == 0
    np.testing.assert_array_equal(np.asarray(r.model.w), [0.0])
    np.testing.assert_array_equal(np.asarray(r.ema_model.w), [0.0])


def test_non_finite_updated_parameters_stop_the_run():
    """A finite loss and gradient whose Adam update overflows float32 parameters."""
    loss = lambda m, k, b: jnp.sum(m.w) * 1.0 + 0.0 * b.sum()
    big = Tiny(jnp.full(1, -np.finfo(np.float32).max, jnp.float32))
    cfg = train.TrainConfig(steps=3, batch_size=4, log_every=1, warmup=0, lr=1e38)
    with pytest.warns(RuntimeWarning, match="not finite at step 1"):
        r = train.fit(jax.random.key(0), big, loss, np.ones((8, 1)), cfg, progress=False)
    assert r.stopped_early and float(r.model.w[0]) == -np.finfo(np.float32).max


def test_numpy_scalars_in_the_config_are_stored(tmp_path):
    mse1 = lambda m, k, b: jnp.mean((m.w * b - 1) ** 2)
    cfg = train.TrainConfig(
        steps=np.int64(6), batch_size=np.int32(4), lr=np.float32(1e-2), warmup=0
    )
    assert isinstance(cfg.steps, np.int64)  # stored as given
    train.fit(
        jax.random.key(0),
        Tiny(jnp.zeros(1)),
        mse1,
        np.ones((8, 1)),
        cfg,
        out_dir=tmp_path,
        progress=False,
    )
    stored = train.read_meta(tmp_path)["config"]
    assert (
        stored["steps"] == 6
        and type(stored["steps"]) is int
        and stored["lr"] == float(np.float32(1e-2))
    )


def _noisy_cfg(steps, **kw):
    base = dict(batch_size=32, lr=1e-2, warmup=2, checkpoint_every=2, log_every=2)
    return train.TrainConfig(steps=steps, **{**base, **kw})


def _fit(tmp_path, steps, resume=False, meta=None, **kw):
    return train.fit(
        jax.random.key(7),
        Noisy(),
        noisy_loss,
        regression_data(),
        _noisy_cfg(steps, **kw),
        out_dir=tmp_path,
        resume=resume,
        progress=False,
        meta=meta,
    )


def _corrupt(path):
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_corrupt_newest_after_a_resumed_run_falls_back_to_the_previous_training_state(tmp_path):
    straight = _fit(tmp_path / "ref", 10)
    d = tmp_path / "run"
    _fit(d, 4)
    _fit(d, 8, resume=True)  # a resumed run: prev must still be a training state (step 6)
    train.save_checkpoint(d / "model.ckpt", {"w": jnp.zeros(3)}, {"step": 8})  # as ddpm.save
    assert train.read_meta(d / train.PREVIOUS)["step"] == 6
    _corrupt(d / train.CHECKPOINT)
    with pytest.warns(RuntimeWarning, match="skipping unreadable checkpoint"):
        resumed = _fit(d, 10, resume=True)
    assert resumed.history["step"][0] == 7
    for a, b in zip(leaves(straight.model), leaves(resumed.model), strict=True):
        np.testing.assert_array_equal(a, b)
    logged = [json.loads(x)["step"] for x in (d / "log.jsonl").read_text().splitlines()]
    assert logged == [2, 4, 6, 8, 10]
    ref = (tmp_path / "ref" / "log.jsonl").read_text().splitlines()
    got = (d / "log.jsonl").read_text().splitlines()
    strip = lambda lines: [
        {k: v for k, v in json.loads(x).items() if k != "seconds"} for x in lines
    ]
    assert strip(got) == strip(ref)


def test_resume_refuses_when_nothing_loads_and_restart_starts_over(tmp_path):
    with pytest.raises(train.ResumeError, match="nothing to resume"):
        _fit(tmp_path, 4, resume=True)
    _fit(tmp_path, 4)
    with pytest.raises(ValueError, match="already holds a training run"):
        _fit(tmp_path, 4)
    _corrupt(tmp_path / train.CHECKPOINT)
    _corrupt(tmp_path / train.PREVIOUS)
    with pytest.warns(RuntimeWarning), pytest.raises(train.ResumeError, match="nothing to resume"):
        _fit(tmp_path, 6, resume=True)
    r = train.fit(
        jax.random.key(7),
        Noisy(),
        noisy_loss,
        regression_data(),
        _noisy_cfg(4),
        out_dir=tmp_path,
        restart=True,
        progress=False,
    )
    assert r.steps_done == 4
    logged = [json.loads(x)["step"] for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert logged == [2, 4]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"lr": 2e-2}, "config.lr"),
        ({"batch_size": 16}, "config.batch_size"),
        ({"seed": 1}, "config.seed"),
        ({"lr_decay_steps": 8}, "config.lr_decay_steps"),
        ({"meta": {"model": {"channels": 16}}}, "model"),
    ],
)
def test_resume_refuses_another_config_naming_the_field(tmp_path, change, field):
    _fit(tmp_path, 4, meta={"model": {"channels": 8}})
    kw = {"meta": {"model": {"channels": 8}}, **change}
    with pytest.raises(train.ResumeError, match=rf"other settings \({field}\)"):
        _fit(tmp_path, 6, resume=True, **kw)


def test_resume_refuses_other_data(tmp_path):
    _fit(tmp_path, 4)
    with pytest.raises(train.ResumeError, match="data_fingerprint"):
        train.fit(
            jax.random.key(7),
            Noisy(),
            noisy_loss,
            regression_data(seed=1),
            _noisy_cfg(6),
            out_dir=tmp_path,
            resume=True,
            progress=False,
        )


def test_a_partial_last_log_line_is_trimmed(tmp_path):
    _fit(tmp_path, 4)
    with open(tmp_path / "log.jsonl", "a") as f:
        f.write('{"step": 5, "loss": 0.1')
    _fit(tmp_path, 6, resume=True)
    logged = [json.loads(x)["step"] for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert logged == [2, 4, 6]


def test_log_does_not_depend_on_the_checkpoint_interval(tmp_path):
    a = _fit(tmp_path / "a", 6, log_every=6, checkpoint_every=0)
    b = _fit(tmp_path / "b", 6, log_every=6, checkpoint_every=3)
    la, lb = (json.loads((tmp_path / d / "log.jsonl").read_text())["loss"] for d in "ab")
    assert la == lb
    np.testing.assert_array_equal(a.history["loss"], b.history["loss"])


def test_pytree_data_gives_the_same_run_as_one_array():
    data = regression_data()
    cfg = train.TrainConfig(steps=5, batch_size=32, lr=1e-2, warmup=1)
    one = train.fit(jax.random.key(1), Linear(3), mse, data, cfg, progress=False)
    pair_loss = lambda m, k, b: jnp.mean((jax.vmap(m)(b[0]) - b[1]) ** 2)
    pair = train.fit(
        jax.random.key(1), Linear(3), pair_loss, (data[:, :3], data[:, 3]), cfg, progress=False
    )
    for a, b in zip(leaves(one.model), leaves(pair.model), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="common leading axis"):
        train.fit(jax.random.key(1), Linear(3), pair_loss, (data[:, :3], data[:5, 3]), cfg)


# A zygote: imports jax once, then forks one training process per "run DIR" line (jax's backend
# starts in each child, after the fork), so ten kills cost ten compiles, not ten imports.
_ZYGOTE = textwrap.dedent(
    """
    import os, pathlib, sys
    import equinox as eqx, jax, jax.numpy as jnp, numpy as np
    jax.config.update("jax_compilation_cache_dir", sys.argv[1])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    from diffcourse import train

    class W(eqx.Module):
        w: jax.Array

    def loss(m, key, b):
        return jnp.mean((b + 0.1 * jax.random.normal(key, b.shape) - m.w) ** 2)

    def run(d):
        data = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
        cfg = train.TrainConfig(steps=200, batch_size=16, lr=1e-2, warmup=3,
                                checkpoint_every=1, log_every=3)
        resume = any((d / n).exists() for n in (train.CHECKPOINT, train.PREVIOUS))
        train.fit(jax.random.key(3), W(jnp.zeros(3)), loss, data, cfg, out_dir=d,
                  resume=resume, restart=not resume, progress=False)

    for line in sys.stdin:
        cmd, arg = line.split()
        if cmd == "run":
            pid = os.fork()
            if pid == 0:
                try:
                    run(pathlib.Path(arg))
                finally:
                    os._exit(0)
            print(pid, flush=True)
        else:
            print(os.waitpid(int(arg), 0)[1], flush=True)
    """
)


def test_kill_9_at_random_moments_resumes_bit_for_bit(tmp_path):
    """10 runs killed by SIGKILL at a random moment of a run (start-up, compile, training, inside a
    checkpoint write), each resumed from whatever the kill left: the checkpoints and the log
    (step, loss, grad_norm) equal an uninterrupted run's, bit for bit."""
    import signal
    import time

    env = dict(os.environ, JAX_PLATFORMS="cpu")
    zygote = subprocess.Popen(
        [sys.executable, "-c", _ZYGOTE, str(tmp_path / "cache")],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )

    def ask(line):
        zygote.stdin.write(line + "\n")
        zygote.stdin.flush()
        return int(zygote.stdout.readline())

    try:
        ref, ref2 = tmp_path / "ref", tmp_path / "ref2"
        assert ask(f"wait {ask(f'run {ref}')}") == 0  # compiles once, into the cache
        t0 = time.perf_counter()
        assert ask(f"wait {ask(f'run {ref2}')}") == 0  # what a run costs from now on
        full = time.perf_counter() - t0
        rng, left = np.random.default_rng(0), []
        for trial in range(10):
            d = tmp_path / f"run{trial}"
            pid = ask(f"run {d}")
            time.sleep(rng.uniform(0.02, full))
            os.kill(pid, signal.SIGKILL)
            ask(f"wait {pid}")
            files = sorted(p.name for p in d.iterdir()) if d.exists() else []
            ck = d / train.CHECKPOINT
            step = train.read_meta(ck)["step"] if ck.exists() else None
            left.append((step, any(f.endswith(".tmp") for f in files)))
            assert ask(f"wait {ask(f'run {d}')}") == 0  # resume to the end
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=60)
    print(f"uninterrupted run {full:.1f} s; each kill left (checkpoint step, partial .tmp): {left}")
    want = [(ref / n).read_bytes() for n in (train.CHECKPOINT, train.PREVIOUS)]
    for d in [ref2, *(tmp_path / f"run{trial}" for trial in range(10))]:
        assert [(d / n).read_bytes() for n in (train.CHECKPOINT, train.PREVIOUS)] == want
        assert _log(d) == _log(ref)


def _log(d):
    rows = [json.loads(x) for x in (d / "log.jsonl").read_text().splitlines()]
    return [(r["step"], r["loss"], r["grad_norm"]) for r in rows]


def test_lr_schedule_is_the_linear_warm_up_then_the_cosine():
    """lr_schedule against its closed form (warm-up k/W, then lr/2 (1 + cos(pi (k-W)/(N-W))), 0
    after N); a cosine measured from step 0 instead of the warm-up's end differs from it; and
    the optimizer uses it: AdamW's update on a constant gradient is -lr_k (m and v debiased)."""
    lr, w, n = 0.01, 10, 50
    sched = train.lr_schedule(train.TrainConfig(steps=n, lr=lr, warmup=w, lr_decay_steps=n))
    k = np.arange(0, 61)
    want = np.where(
        k < w, lr * k / w, np.where(k <= n, lr / 2 * (1 + np.cos(np.pi * (k - w) / (n - w))), 0.0)
    )
    got = np.array([float(sched(i)) for i in k])
    np.testing.assert_allclose(got, want, atol=1e-9)
    wrong = lr / 2 * (1 + np.cos(np.pi * k / n))
    assert np.abs(wrong - want)[w:n].max() > 1e-3
    assert train.lr_schedule(train.TrainConfig(steps=5, lr=lr, warmup=0)) == lr
    opt = train.optimizer(train.TrainConfig(steps=n, lr=lr, warmup=w, lr_decay_steps=n))
    p = jnp.zeros(())
    state = opt.init(p)
    for i in range(20):
        upd, state = opt.update(jnp.asarray(0.5), state, p)
        np.testing.assert_allclose(float(upd), -want[i], rtol=1e-4, atol=1e-9)
