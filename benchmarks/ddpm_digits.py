"""Training and sampling throughput: diffcourse's JAX DDPM against Hugging Face diffusers on PyTorch.

Run in the benchmark venv (not the course venv; it adds torch and diffusers):

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -r benchmarks/requirements.txt
    .venv-bench/bin/python benchmarks/ddpm_digits.py [--rounds 6] [--block 10] [--size 8]

Contenders, same data (the digits' training split, or random 28x28 images with --size 28), batch
128 (32 at 28x28), AdamW: the peer, diffusers' ``UNet2DModel`` (32/64 channels, attention at 4x4, 8 groups: 701,345 parameters)
(eps-MSE, DDPM schedule); ours, the course's model (``dc.ddpm`` defaults: 32/64 channels, no
attention, EDM loss); ours with attention at the lowest resolution. Each contender runs ``--block``
steps in turn, ``--rounds`` times, alternating, so all see the same machine load; the table reports
the median steps/s and the ratio to the peer. JSON goes to benchmarks/results/.
"""

import argparse
import json
import os
import pathlib
import platform
import statistics
import time

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import diffcourse as dc  # noqa: E402


def data(size, n=1500):
    if size == 8:
        return dc.data.images.load_digits("train")[0][..., None]
    return np.random.default_rng(0).uniform(-1, 1, (n, size, size, 1)).astype(np.float32)


def ours(x, batch, attention):
    mults = (1, 2) if x.shape[1] == 8 else (1, 2, 2)
    arch = dc.ddpm.Arch(attention=attention, channel_mults=mults)
    loss = dc.ddpm.Loss(sigma_data=dc.nets.precond.sigma_data(x))
    model = dc.ddpm.build(jax.random.key(0), x.shape[1:], arch, loss)
    cfg = dc.train.TrainConfig(steps=1, batch_size=batch, lr=1e-3)
    opt = dc.train.optimizer(cfg)
    state = dc.train.init_state(model, opt)
    step = dc.train.make_step(model, loss.loss_fn(), opt, 0.999, dc.train.data_mesh())
    key = jax.random.key_data(jax.random.key(0))
    holder = {"state": state}
    rng = np.random.default_rng(0)
    flops = step.lower(state, jnp.asarray(x[:batch]), key).compile().cost_analysis()
    flops = (flops[0] if isinstance(flops, list) else flops).get("flops", float("nan"))

    def run(k):
        for _ in range(k):
            b = jnp.asarray(x[rng.integers(0, len(x), batch)])
            holder["state"], out = step(holder["state"], b, key)
        jax.block_until_ready(holder["state"])

    def sample(n, steps):
        trained = dc.train.unflatten(model, holder["state"]["params"])
        y = dc.ddpm.sample(jax.random.key(1), trained, n, setting="ddim", steps=steps)
        jax.block_until_ready(y)

    return run, sample, dc.nets.unet.n_params(model), flops


def peer(x, batch, threads=2):
    import torch
    from diffusers import UNet2DModel

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    size = x.shape[1]
    net = UNet2DModel(
        sample_size=size,
        in_channels=1,
        out_channels=1,
        layers_per_block=1,
        block_out_channels=(32, 64) if size == 8 else (32, 64, 64),
        down_block_types=("DownBlock2D", "AttnDownBlock2D")
        if size == 8
        else ("DownBlock2D", "DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D")
        if size == 8
        else ("AttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
        norm_num_groups=8,
    )
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    ab = torch.tensor(np.asarray(dc.ddpm.schedule("linear")), dtype=torch.float32)
    xt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 1)))
    gen = torch.Generator().manual_seed(0)

    def one():
        idx = torch.randint(0, len(xt), (batch,), generator=gen)
        y = xt[idx]
        t = torch.randint(0, 1000, (batch,), generator=gen)
        eps = torch.randn(y.shape, generator=gen)
        a = ab[t].view(-1, 1, 1, 1)
        loss = torch.nn.functional.mse_loss(net(a.sqrt() * y + (1 - a).sqrt() * eps, t).sample, eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()

    def run(k):
        for _ in range(k):
            one()

    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        one()
    flops = counter.get_total_flops()

    @torch.no_grad()
    def sample(n, steps):  # DDIM cost: one forward pass of the batch per step
        z = torch.randn(n, 1, size, size, generator=gen)
        for t in np.linspace(999, 0, steps).astype(int):
            eps = net(z, int(t)).sample
            z = z - 0.01 * eps

    return run, sample, sum(p.numel() for p in net.parameters()), flops


def matmul_peak():
    a = np.random.default_rng(0).standard_normal((2048, 2048)).astype(np.float32)
    a @ a
    t0 = time.perf_counter()
    for _ in range(5):
        a @ a
    return 5 * 2 * 2048**3 / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--block", type=int, default=10)
    p.add_argument("--size", type=int, default=8, choices=[8, 28])
    p.add_argument("--sample-n", type=int, default=256)
    p.add_argument(
        "--torch-threads",
        type=int,
        default=2,
        help="torch intra-op threads; on a loaded machine OpenMP's 2 threads collapse (use 1)",
    )
    args = p.parse_args()
    batch = 128 if args.size == 8 else 32
    x = data(args.size)
    contenders = {"peer (diffusers UNet2DModel, torch)": peer(x, batch, args.torch_threads)}
    contenders["ours (course U-Net, no attention)"] = ours(x, batch, False)
    contenders["ours (with attention at lowest res.)"] = ours(x, batch, True)
    for run, *_ in contenders.values():
        run(2)  # compile / warm up
    times = {k: [] for k in contenders}
    for _ in range(args.rounds):
        for name, (run, *_) in contenders.items():
            t0 = time.perf_counter()
            run(args.block)
            times[name].append(args.block / (time.perf_counter() - t0))
    peak = matmul_peak()
    rows = {}
    for name, (_run, sample, n_params, flops) in contenders.items():
        sample(args.sample_n, 10)  # warm-up with the same shapes (compiles ours)
        t0 = time.perf_counter()
        sample(args.sample_n, 10)
        sample_ips = args.sample_n / (time.perf_counter() - t0)
        sps = statistics.median(times[name])
        rows[name] = {
            "params": int(n_params),
            "steps_per_s": sps,
            "images_per_s": sps * batch,
            "steps_per_s_blocks": times[name],
            "gflop_per_step": flops / 1e9,
            "fraction_of_matmul_peak": flops * sps / peak,
            "sampling_images_per_s_10_steps": sample_ips,
        }
    base = rows["peer (diffusers UNet2DModel, torch)"]["steps_per_s"]
    print(
        f"size {args.size}x{args.size}, batch {batch}, {args.rounds} alternating rounds of {args.block} steps; fp32 matmul peak {peak / 1e9:.0f} GFLOP/s"
    )
    print(
        f"{'contender':40s} {'params':>8s} {'steps/s':>8s} {'img/s':>7s} {'x peer':>7s} {'GFLOP/st':>8s} {'%peak':>6s} {'sample img/s':>12s}"
    )
    for name, r in rows.items():
        r["ratio_to_peer"] = r["steps_per_s"] / base
        print(
            f"{name:40s} {r['params']:8d} {r['steps_per_s']:8.2f} {r['images_per_s']:7.0f} {r['ratio_to_peer']:7.2f} "
            f"{r['gflop_per_step']:8.2f} {100 * r['fraction_of_matmul_peak']:6.1f} {r['sampling_images_per_s_10_steps']:12.0f}"
        )
    out = (
        pathlib.Path(__file__).parent
        / "results"
        / f"ddpm_digits_{args.size}_torch{args.torch_threads}threads.json"
    )
    out.parent.mkdir(exist_ok=True)
    meta = {
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_avg": os.getloadavg(),
        "batch": batch,
        "size": args.size,
    }
    out.write_text(json.dumps({"meta": meta, "matmul_peak_flops": peak, "rows": rows}, indent=1))
    print("wrote", out)


if __name__ == "__main__":
    main()
