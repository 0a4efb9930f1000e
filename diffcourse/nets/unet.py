r"""A small U-Net for images (Ronneberger et al. 2015), as used by DDPM (Ho et al. 2020 App. B).

One sample in, one sample out: ``x`` of shape ``(H, W, C)`` (channels last, NHWC after ``vmap``:
measured faster than NCHW on XLA:CPU) and a scalar VE time ``t > 0``
that enters through :func:`diffcourse.nets.time_embedding` (features of :math:`\ln t`).

Layout for ``channel_mults=(1, 2)``, ``blocks=1`` (8x8 digits)::

    conv_in -> [res]      -> down -> [res]      -> mid: res (attn) res
            <- [res, res] <- up   <- [res, res] <- conv_out

Each level keeps its skip activations; the up path concatenates them back. Residual blocks are
GroupNorm -> SiLU -> conv -> + time -> GroupNorm -> SiLU -> conv, plus the input (1x1 conv when the
channel count changes). ``attention=True`` adds single-head self-attention (Vaswani et al. 2017)
after every residual block at the lowest resolution and in the middle. Odd sizes (28 -> 14 -> 7)
are handled: down-sampling rounds up and up-sampling crops to the skip's size.

Initialisation draws every weight with numpy from one generator seeded by the key
(:func:`_rng`): no JAX op runs, so building a U-Net compiles nothing and takes milliseconds,
where op-by-op ``jax.random`` initialisation compiled one kernel per parameter shape (seconds).
Weights follow PyTorch's default scale, :math:`U(-1/\sqrt{\rm fan_{in}}, 1/\sqrt{\rm fan_{in}})`.

``n_classes > 0`` makes the net class-conditional (Ho & Salimans 2022): a learned embedding of
the label :math:`c\in\{0..n-1\}` is added to the time embedding, and the extra row ``n``
is the null label used when ``c`` is None (the unconditional model of classifier-free guidance).

GroupNorm+SiLU has a hand-written backward (:func:`group_norm_silu`): on XLA:CPU the autodiff of
the textbook formula was 3-4x slower than the fused kernels PyTorch uses (measured on these CPUs).
"""

import math
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from diffcourse import _validate
from diffcourse.nets.embedding import time_embedding

# ---------------------------------------------------------------------------------------------
# GroupNorm (Wu & He 2018) on one (H, W, C) sample, fused with SiLU.


def _group_stats(x, groups: int, eps: float):
    """Per-group mean and 1/std of ``x`` (H, W, C), broadcast back to channels: two (C,) arrays."""
    c = x.shape[-1]
    n = x.shape[0] * x.shape[1] * (c // groups)
    s1 = jnp.sum(x, axis=(0, 1)).reshape(groups, -1).sum(-1) / n
    s2 = jnp.sum(x * x, axis=(0, 1)).reshape(groups, -1).sum(-1) / n
    var = jnp.maximum(s2 - s1 * s1, 0.0)
    mu, r = s1, jax.lax.rsqrt(var + eps)
    return jnp.repeat(mu, c // groups), jnp.repeat(r, c // groups)


def group_norm(x, gamma, beta, groups: int, eps: float = 1e-5):
    r"""GroupNorm: :math:`\gamma_c (x - \mu_g) / \sqrt{\sigma_g^2 + \epsilon} + \beta_c` (Wu & He 2018 eq. 1)."""
    mu, r = _group_stats(x, groups, eps)
    a = gamma * r
    return x * a + (beta - mu * a)


@partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def _gn_silu(x, gamma, beta, groups, eps):
    return jax.nn.silu(group_norm(x, gamma, beta, groups, eps))


def _gn_silu_fwd(x, gamma, beta, groups, eps):
    return _gn_silu(x, gamma, beta, groups, eps), (x, gamma, beta)


def _gn_silu_bwd(groups, eps, res, dy):
    # u = a x + b with a = gamma r, b = beta - mu a; y = silu(u); g = dy silu'(u).
    # Standard GroupNorm backward written as dx = a g + c1 x + c2, with per-group constants
    # c1 = -r^2 m2, c2 = r^2 m2 mu - r m1, m1 = mean_group(gamma g), m2 = mean_group(gamma g xhat).
    x, gamma, beta = res
    c = x.shape[-1]
    n = x.shape[0] * x.shape[1] * (c // groups)
    mu, r = _group_stats(x, groups, eps)
    a = gamma * r
    u = x * a + (beta - mu * a)
    s = jax.nn.sigmoid(u)
    g = dy * s * (1.0 + u * (1.0 - s))
    g1 = jnp.sum(g, axis=(0, 1))  # per channel sum of g
    g2 = jnp.sum(g * x, axis=(0, 1))  # per channel sum of g x
    dbeta = g1
    dgamma = r * (g2 - mu * g1)
    m1 = jnp.repeat((gamma * g1).reshape(groups, -1).sum(-1), c // groups) / n
    m2 = jnp.repeat((gamma * dgamma).reshape(groups, -1).sum(-1), c // groups) / n
    c1 = -r * r * m2
    c2 = r * r * m2 * mu - r * m1
    dx = a * g + c1 * x + c2
    return dx, dgamma, dbeta


_gn_silu.defvjp(_gn_silu_fwd, _gn_silu_bwd)


def group_norm_silu(x, gamma, beta, groups: int, eps: float = 1e-5):
    r""":math:`\mathrm{SiLU}(\mathrm{GroupNorm}(x))` with a fused, hand-written backward pass."""
    return _gn_silu(x, gamma, beta, groups, eps)


class GroupNorm(eqx.Module):
    """GroupNorm with learned per-channel scale and shift; ``silu=True`` applies SiLU after it."""

    gamma: jax.Array
    beta: jax.Array
    groups: int = eqx.field(static=True)

    def __init__(self, channels: int, groups: int, dtype=jnp.float32):
        channels = _validate.integer("channels", channels, minimum=1)
        groups = _validate.integer("groups", groups, minimum=1)
        if channels % groups:
            raise ValueError(f"groups must divide the channel count {channels}; got {groups}")
        self.gamma = jnp.ones(channels, dtype)
        self.beta = jnp.zeros(channels, dtype)
        self.groups = groups

    def __call__(self, x, silu: bool = True):
        if silu:
            return group_norm_silu(x, self.gamma, self.beta, self.groups)
        return group_norm(x, self.gamma, self.beta, self.groups)


# ---------------------------------------------------------------------------------------------
# Initialisation without JAX ops, convolutions and blocks, channels last.


def _rng(key) -> np.random.Generator:
    """A numpy generator seeded by a JAX key (typed or raw uint32): the key fixes every weight."""
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    data = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    return np.random.default_rng(np.asarray(data, dtype=np.uint32).ravel().tolist())


def _uniform(rng, shape, fan_in, dtype):
    bound = 1.0 / math.sqrt(fan_in)  # PyTorch's default init scale
    return jnp.asarray(rng.uniform(-bound, bound, shape), dtype)


class Linear(eqx.Module):
    """An affine map ``x @ weight.T + bias``; weight (out, in)."""

    weight: jax.Array
    bias: jax.Array

    def __init__(self, rng, n_in, n_out, dtype=jnp.float32):
        self.weight = _uniform(rng, (n_out, n_in), n_in, dtype)
        self.bias = _uniform(rng, (n_out,), n_in, dtype)

    def __call__(self, x):
        return x @ self.weight.T + self.bias


class Conv(eqx.Module):
    """A 2-D convolution on one (H, W, C_in) sample; weight (k, k, C_in, C_out) (HWIO)."""

    weight: jax.Array
    bias: jax.Array
    stride: int = eqx.field(static=True)

    def __init__(self, rng, c_in, c_out, kernel=3, stride=1, zero=False, dtype=jnp.float32):
        shape = (kernel, kernel, c_in, c_out)
        w = _uniform(rng, shape, c_in * kernel * kernel, dtype)
        self.weight = jnp.zeros(shape, dtype) if zero else w
        self.bias = jnp.zeros(c_out, dtype)
        self.stride = stride

    def __call__(self, x):
        k = self.weight.shape[0]
        pad = ((k // 2, k // 2), (k // 2, k // 2))
        y = jax.lax.conv_general_dilated(
            x[None],
            self.weight,
            (self.stride, self.stride),
            pad,
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        return y[0] + self.bias


class ResBlock(eqx.Module):
    """DDPM residual block (Ho et al. 2020, App. B, after Wide ResNets): h = conv(silu(gn(x))) + W e(t);
    out = x' + conv(silu(gn(h))), with x' a 1x1 convolution of x when the widths differ."""

    norm1: GroupNorm
    conv1: Conv
    time: Linear
    norm2: GroupNorm
    conv2: Conv
    skip: Conv | None

    def __init__(self, rng, c_in, c_out, t_dim, groups, dtype=jnp.float32):
        self.norm1 = GroupNorm(c_in, groups, dtype)
        self.conv1 = Conv(rng, c_in, c_out, dtype=dtype)
        self.time = Linear(rng, t_dim, c_out, dtype)
        self.norm2 = GroupNorm(c_out, groups, dtype)
        self.conv2 = Conv(rng, c_out, c_out, zero=True, dtype=dtype)
        self.skip = None if c_in == c_out else Conv(rng, c_in, c_out, kernel=1, dtype=dtype)

    def __call__(self, x, emb):
        h = self.conv1(self.norm1(x)) + self.time(emb)
        h = self.conv2(self.norm2(h))
        return h + (x if self.skip is None else self.skip(x))


class Attention(eqx.Module):
    """Single-head self-attention over the H*W positions, with a residual connection."""

    norm: GroupNorm
    qkv: Linear
    proj: Linear

    def __init__(self, rng, channels, groups, dtype=jnp.float32):
        self.norm = GroupNorm(channels, groups, dtype)
        self.qkv = Linear(rng, channels, 3 * channels, dtype)
        self.proj = Linear(rng, channels, channels, dtype)

    def __call__(self, x):
        h, w, c = x.shape
        a = self.norm(x, silu=False).reshape(h * w, c)
        q, k, v = jnp.split(a @ self.qkv.weight.T + self.qkv.bias, 3, axis=-1)
        p = jax.nn.softmax(q @ k.T / math.sqrt(c), axis=-1)
        out = (p @ v) @ self.proj.weight.T + self.proj.bias
        return x + out.reshape(h, w, c)


def _upsample(x, shape):
    """Nearest-neighbour x2, cropped to the skip's spatial ``shape``."""
    x = jnp.repeat(jnp.repeat(x, 2, axis=0), 2, axis=1)
    return x[: shape[0], : shape[1]]


MAX_WIDTH = 4096  # channels * max(channel_mults): bounds what a checkpoint's meta can allocate


def _check_args(key, in_channels, channels, channel_mults, blocks, attention, groups, n_classes):
    """The constructor's checks, each a ValueError naming the argument (before any allocation)."""
    _validate.key("key", key)
    _validate.integer("in_channels", in_channels, minimum=1, maximum=64)
    _validate.integer("channels", channels, minimum=1, maximum=MAX_WIDTH)
    mults = _validate.ints("channel_mults", channel_mults, minimum=1, max_len=8)
    _validate.integer("blocks", blocks, minimum=0, maximum=16)
    _validate.flag("attention", attention)
    _validate.integer("groups", groups, minimum=1)
    _validate.integer("n_classes", n_classes, minimum=0, maximum=1_000_000)
    if channels * max(mults) > MAX_WIDTH:
        got = f"{channels} x {max(mults)}"
        raise _validate.fail("channels * max(channel_mults)", f"at most {MAX_WIDTH}", got)
    for width in sorted({channels * m for m in mults}):
        if width % groups:
            msg = f"groups must divide the channel count {width} of every level; got {groups}"
            raise ValueError(msg)


class UNet(eqx.Module):
    """The course's U-Net: ``UNet(key, in_channels=1, channels=32, channel_mults=(1, 2), ...)``.

    Keyword arguments (all stored, so a checkpoint's meta can rebuild the skeleton):
    ``in_channels`` image channels C; ``channels`` width of the first level; ``channel_mults``
    width multiplier per level (one down-sampling between levels); ``blocks`` residual blocks per
    level on the way down (the way up has ``blocks + 1``); ``attention`` self-attention at the
    lowest resolution; ``groups`` GroupNorm groups; ``n_classes`` labels of a class-conditional
    net (0: unconditional). ``__call__(x, t, c=None)``: x (H, W, C), scalar t > 0, integer label
    c (or None), returns (H, W, C). The final convolution starts at zero: a fresh net outputs 0.
    """

    conv_in: Conv
    time1: Linear
    time2: Linear
    label: jax.Array | None
    down: list
    downsample: list
    mid: list
    up: list
    upsample: list
    norm_out: GroupNorm
    conv_out: Conv
    channels: int = eqx.field(static=True)
    attention: bool = eqx.field(static=True)
    n_classes: int = eqx.field(static=True)

    def __init__(
        self,
        key,
        *,
        in_channels: int = 1,
        channels: int = 32,
        channel_mults=(1, 2),
        blocks: int = 1,
        attention: bool = False,
        groups: int = 8,
        n_classes: int = 0,
        dtype=jnp.float32,
    ):
        _check_args(key, in_channels, channels, channel_mults, blocks, attention, groups, n_classes)
        widths = [channels * m for m in channel_mults]
        t_dim = 4 * channels
        rng = _rng(key)
        attn = lambda c: Attention(rng, c, groups, dtype) if attention else None
        self.channels, self.attention, self.n_classes = channels, attention, int(n_classes)
        self.conv_in = Conv(rng, in_channels, channels, dtype=dtype)
        self.time1 = Linear(rng, channels, t_dim, dtype)
        self.time2 = Linear(rng, t_dim, t_dim, dtype)
        rows = (self.n_classes + 1, t_dim)  # the last row is the null label
        self.label = jnp.asarray(rng.normal(0, 1, rows), dtype) if self.n_classes else None
        last = len(widths) - 1
        self.down, self.downsample, skips, c = [], [], [channels], channels
        for i, w in enumerate(widths):
            level = []
            for _ in range(blocks):
                level.append(
                    (
                        ResBlock(rng, c, w, t_dim, groups, dtype),
                        attn(w) if i == last else None,
                    )
                )
                c = w
                skips.append(c)
            self.down.append(level)
            if i < last:
                self.downsample.append(Conv(rng, c, c, stride=2, dtype=dtype))
                skips.append(c)
        self.mid = [
            ResBlock(rng, c, c, t_dim, groups, dtype),
            attn(c),
            ResBlock(rng, c, c, t_dim, groups, dtype),
        ]
        self.up, self.upsample = [], []
        for i in reversed(range(len(widths))):
            w, level = widths[i], []
            for _ in range(blocks + 1):
                level.append(
                    (
                        ResBlock(rng, c + skips.pop(), w, t_dim, groups, dtype),
                        attn(w) if i == last else None,
                    )
                )
                c = w
            self.up.append(level)
            if i > 0:
                self.upsample.append(Conv(rng, c, c, dtype=dtype))
        self.norm_out = GroupNorm(c, groups, dtype)
        self.conv_out = Conv(rng, c, in_channels, zero=True, dtype=dtype)

    def __call__(self, x, t, c=None):
        dtype = self.conv_in.weight.dtype
        x = jnp.asarray(x, dtype)
        emb = time_embedding(t, self.channels).astype(dtype)
        emb = self.time2(jax.nn.silu(self.time1(emb)))
        if self.label is not None:
            if c is not None and not isinstance(c, jax.core.Tracer):
                ok = jnp.issubdtype(jnp.asarray(c).dtype, jnp.integer)
                if not (ok and 0 <= int(c) < self.n_classes):  # JAX would clamp silently
                    raise ValueError(
                        f"c must be a class label in 0..{self.n_classes - 1}; got {c!r}"
                    )
            emb = emb + self.label[self.n_classes if c is None else c]
        elif c is not None:
            raise ValueError("c (a class label) was given to an unconditional U-Net (n_classes=0)")
        emb = jax.nn.silu(emb)
        h = self.conv_in(x)
        hs = [h]
        for i, level in enumerate(self.down):
            for block, attn in level:
                h = block(h, emb)
                h = h if attn is None else attn(h)
                hs.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
                hs.append(h)
        block1, attn, block2 = self.mid
        h = block1(h, emb)
        h = h if attn is None else attn(h)
        h = block2(h, emb)
        for j, level in enumerate(self.up):
            for block, attn in level:
                h = block(jnp.concatenate([h, hs.pop()], axis=-1), emb)
                h = h if attn is None else attn(h)
            if j < len(self.upsample):
                h = self.upsample[j](_upsample(h, hs[-1].shape))
        return self.conv_out(self.norm_out(h))


def n_params(model) -> int:
    """Number of trainable scalars in ``model``."""
    leaves = jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_inexact_array))
    return sum(int(leaf.size) for leaf in leaves)
