"""2-D convolution layer (``Conv2d``); its Winograd path is in ``conv_winograd.py``, its one-input-channel
path in ``conv_one_channel.py``, its dilated and grouped path in ``conv_general.py``."""

from __future__ import annotations

import numpy as np

from .._validation import as_pair, check_int, invalid_argument, plain_pair
from .._blas import batched, workers
from ..init import as_rng, check_init, initialize
from ..kernels.conv import (
    col2im_rows,
    im2col_rows,
    pad_channels_last,
    rows_to_nchw,
)
from ..registry import LAYERS
from .base import Layer
from .conv_general import general_backward, general_forward
from .conv_one_channel import one_channel_backward, one_channel_forward, pad_plane
from .conv_winograd import winograd_backward, winograd_forward

#: Output pixels per im2col chunk (rounded to whole images, at least one): the column matrix of a
#: chunk is reused (and recomputed in backward) instead of holding the columns of the whole batch.
#: Small enough to stay in cache, large enough for an efficient product. Chosen from fwd+bwd timings
#: of 16, 8, 4 and 2 images per chunk, interleaved in one process (float32, batch 128, 2 threads):
#: against 16 images, 4 took 0.77x at 32x32 (32->32, 3x3), 0.86x at 16x16 (64->64), 0.86x at 14x14
#: (32->64, 5x5), but 1.10x at 8x8, where 2 images took 1.28x: about 1,000 rows is the sweet spot.
CHUNK_PIXELS = 1024
#: Winograd (layers/conv_winograd.py: F(4x4, 3x3) for 3x3 filters, F(2x2, 5x5) for 5x5, both
#: with 6x6 tiles) serves stride-1 convolutions with at least WINOGRAD_MIN_CHANNELS input
#: channels, an output of at least WINOGRAD_MIN_PIXELS = OH*OW pixels and C*OH*OW of at least
#: WINOGRAD_MIN_SIZE[r]. Chosen from fwd (training) + bwd-with-dx timings against im2col, batch
#: 128, float32, 2 threads, the two paths alternating in one process, 3 rounds
#: (python -m benchmarks.winograd; the shared 2-core machine at load 1.7-3.5, so only clear wins
#: count). Winograd / im2col, first against this branch's im2col (16 images a chunk), then against
#: the im2col of main's e3734e2 (about 1,000 pixels a chunk, 0.77-0.86x of the former):
#: 3x3 16->32 at 32x32 0.44-0.47 / 0.63, 32->32 at 32x32 0.32-0.41 / 0.52, 32->64 at 32x32
#: 0.35-0.44 / 0.54, 16->16 at 16x16 0.67 / 0.75, 16->32 at 16x16 0.67 / 0.58, 32->32 at 16x16
#: 0.48-0.61 / 0.54, 32->64 at 16x16 0.40 / 0.48, 64->64 at 16x16 0.37-0.44 / 0.43, 64->128 at
#: 8x8 0.47-0.83 / 0.42, 128->128 at 8x8 0.56-0.73 / 0.52, 256->256 at 8x8 0.75 / 0.72; 5x5
#: (padding 2) 32->64 at 14x14 0.44-0.64 / 0.52, 16->32 at 14x14 0.52-0.89 / 0.67.
#: Not taken: 3x3 32->32 at 8x8 (1.03 / 1.17) and 16->16 at 8x8 (1.08), 256->256 at 4x4 (one
#: tile an image: 0.88-1.01 / 0.57, unsteady), 3->32 at 32x32 (1.07-1.32), 8->16 at 32x32
#: (0.74-0.83 / 0.76); 5x5 16->16 at 10x10 (0.62 / 0.89), 6->16 at 14x14 (1.7-2.1 / 1.11).
WINOGRAD_MIN_CHANNELS = 16
WINOGRAD_MIN_PIXELS = 64
WINOGRAD_MIN_SIZE = {3: 4096, 5: 2048}
#: Bytes of a Winograd chunk's transformed tiles, a*a*tiles*(C + F) values (V and M): whole
#: images, as many as fit, at least one. About the 1 MB L2 of a Zen 4 core. Single-threaded CPU
#: time of a batch of 128 through the kernels and products (fwd+bwd, float32; a profile of the
#: kernels, not kept; ``python -m benchmarks.winograd --chunk-bytes B`` times whole layers), by
#: images a chunk:
#: 32->32 at 32x32 46-51 ms with 2 (the budget's choice), 51 with 4, 49 with 8, 83 with 1;
#: 64->64 at 16x16 30-31 with 2, 32-34 with 4 (the choice), 36 with 8, 56 with 16; 128->128 at 8x8
#: 34 with 8 (the choice), 38 with 16; 5x5 32->64 at 14x14 41 with 2 (the choice), 57 with 1.
WINOGRAD_CHUNK_BYTES = 1_200_000
#: A batch is cut into at least this many Winograd chunks (when it has that many images).
WINOGRAD_MIN_CHUNKS = 4
#: Output tile size m of F(m x m, r x r) per filter size r: 6x6 input tiles either way.
WINOGRAD_TILE = {3: 4, 5: 2}


@LAYERS.register("conv2d")
class Conv2d(Layer):
    """2-D convolution (cross-correlation, as in cs231n and PyTorch), NCHW, zero padding.

    Shapes: x (N, C, H, W); W (F, C/groups, KH, KW); b (F,); out (N, F, OH, OW) with
    OH = floor((H + 2*ph - KH) / sh) + 1 and OW = floor((W + 2*pw - KW) / sw) + 1.
    out[n, f, i, j] = b[f] + sum_{c, kh, kw} W[f, c, kh, kw] * xp[n, c, i*sh + kh, j*sw + kw],
    where xp is x inside a border of ph rows and pw columns of zeros.
    Backward: db[f] = sum of dout[:, f]; dW[f, c, kh, kw] = sum over n, i, j of dout[n, f, i, j]
    times the input pixel that tap saw; dx: every dout[n, f, i, j] times W[f, :, kh, kw] is added
    back to the input pixel under tap (kh, kw) of window (i, j) (contributions to the padding
    are dropped).

    Computation: one input channel at stride 1 uses per-image products with the image's
    columns in (KH*KW, OH*OW) order, which write the NCHW output directly
    (layers/conv_one_channel.py); 3x3 and 5x5 filters at stride 1 with enough input channels and
    pixels (``WINOGRAD_MIN_CHANNELS``, ``WINOGRAD_MIN_PIXELS``, ``WINOGRAD_MIN_SIZE``) use Winograd
    F(4x4, 3x3) or F(2x2, 5x5) (36 matrix products per chunk of images: 4x and 2.8x fewer
    multiplies; layers/conv_winograd.py); everything else an im2col product per chunk of
    ``CHUNK_PIXELS`` output pixels with the columns recomputed in backward (see kernels/conv.py).

    ``dilation`` (d) and ``groups`` (G), as PyTorch: taps are d apart, W[f, c, kh, kw] reads
    xp[n, c, i*sh + kh*dh, j*sw + kw*dw] (so OH = floor((H + 2*ph - dh*(KH-1) - 1) / sh) + 1), and the
    channels split into G groups, output channel f seeing only the C/G input channels of its group
    (W is (F, C/G, KH, KW); G = C is a depthwise convolution). Any dilation or groups other than 1
    takes the general path (im2col per group, ``layers/conv_general.py``); the fast paths above
    serve dilation=1, groups=1 unchanged.

    ``needs_input_grad`` (attribute, default True): set it to False on a first layer whose
    input gradient nobody uses; backward then skips dx and returns None.
    """

    _positional = ("in_channels", "out_channels")
    inferred_args = ("in_channels",)
    decayed = ("W",)  # weight decay on W, not on b

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, *, dilation=1, groups=1,
                 init="he_normal", bias=True, rng=None):
        super().__init__()
        self.in_channels = check_int("Conv2d", "in_channels", in_channels)
        self.out_channels = check_int("Conv2d", "out_channels", out_channels)
        self._k = as_pair("Conv2d", "kernel_size", kernel_size)
        self._s = as_pair("Conv2d", "stride", stride)
        self._p = as_pair("Conv2d", "padding", padding, minimum=0)
        self._d = as_pair("Conv2d", "dilation", dilation)
        self.kernel_size, self.stride, self.padding, self.dilation = (
            plain_pair(v) for v in (kernel_size, stride, padding, dilation))
        self.groups = check_int("Conv2d", "groups", groups)
        for name in ("in_channels", "out_channels"):
            if getattr(self, name) % self.groups:
                raise invalid_argument("Conv2d", "groups", f"a divisor of {name}={getattr(self, name)}", groups)
        check_init("Conv2d", init)
        self.init = init
        self.bias = bool(bias)
        self.rng = as_rng(rng)
        kh, kw = self._k
        shape = (self.out_channels, self.in_channels // self.groups, kh, kw)
        fan_in, fan_out = self.in_channels // self.groups * kh * kw, self.out_channels * kh * kw
        self.init_param("W", initialize(init, shape, fan_in, fan_out, self.rng))
        if self.bias:
            self.init_param("b", np.zeros(self.out_channels, dtype=np.float32))

    @classmethod
    def infer_config(cls, config, input_shape):
        config = dict(config)
        if config.get("in_channels") is None and input_shape is not None and len(input_shape) == 3:
            config["in_channels"] = int(input_shape[0])
        return config

    @classmethod
    def config_placeholder(cls, name, config):
        """A stand-in for ``in_channels`` when a config is checked without data: ``groups`` (which divides it)."""
        groups = config.get("groups", 1)
        return groups if isinstance(groups, int) and not isinstance(groups, bool) and groups > 0 else 1

    # ----------------------------------------------------------------- shapes
    def _expected(self) -> str:
        (kh, kw), (ph, pw) = self._extent(), self._p
        return f"(N, {self.in_channels}, H, W) with H + 2*{ph} >= {kh} and W + 2*{pw} >= {kw}"

    def _extent(self):
        """The dilated kernel's extent (dh*(KH-1) + 1, dw*(KW-1) + 1): KH, KW without dilation."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self._k, self._d))

    def _general(self) -> bool:
        return self._d != (1, 1) or self.groups != 1

    def _spatial_out(self, shape):
        """(OH, OW) for an input (N, C, H, W); the shape error if it does not fit."""
        (kh, kw), (sh, sw), (ph, pw) = self._extent(), self._s, self._p
        if len(shape) != 4 or shape[1] != self.in_channels or shape[2] + 2 * ph < kh or shape[3] + 2 * pw < kw:
            raise self.fail_shape(self._expected(), tuple(shape))
        return (shape[2] + 2 * ph - kh) // sh + 1, (shape[3] + 2 * pw - kw) // sw + 1

    def output_shape(self, input_shape):
        oh, ow = self._spatial_out((None, *input_shape))
        return (self.out_channels, oh, ow)

    def _one_channel(self) -> bool:
        return self.in_channels == 1 and self._s == (1, 1)

    def _winograd(self, oh, ow) -> bool:
        c, (kh, kw) = self.in_channels, self._k
        return (kh == kw and kh in WINOGRAD_TILE and self._s == (1, 1) and c >= WINOGRAD_MIN_CHANNELS
                and oh * ow >= WINOGRAD_MIN_PIXELS and c * oh * ow >= WINOGRAD_MIN_SIZE[kh])

    # ----------------------------------------------------------------- forward
    def forward(self, x, training=False):
        x = self.check_input(x, ndim=4, expected=self._expected())
        x_dtype = x.dtype  # dx is returned in it, whatever the parameters' dtype
        oh, ow = self._spatial_out(x.shape)
        self.check_param_shapes()
        dtype = self.compute_dtype(x)
        x = np.ascontiguousarray(x, dtype=dtype)
        W = np.ascontiguousarray(self.params["W"], dtype=dtype)
        b = self.params["b"].astype(dtype) if self.bias else np.zeros(self.out_channels, dtype)
        n = x.shape[0]
        if self._general():
            self.save_cache(x.shape, x_dtype, x, W)
            return general_forward(x, W, b, self._s, self._p, self._d, self.groups, oh, ow)
        out = np.empty((n, self.out_channels, oh, ow), dtype=dtype)
        if self._one_channel():
            xp = pad_plane(x, self._p)
            one_channel_forward(xp, W, b, out)
            self.save_cache(x.shape, x_dtype, xp, W)
        elif self._winograd(oh, ow):
            winograd_forward(x, W, b, out, self._p, self._winograd_plan(x, *out.shape[2:]))
            self.save_cache(x.shape, x_dtype, x, W)
        else:
            self._im2col_forward(x, W, b, out)
            self.save_cache(x.shape, x_dtype, x, W)
        return out

    def _workspace(self, x):
        """Chunk size, (OH, OW) and one zeroed padded channels-last buffer (B, Hp, Wp*C) per worker."""
        (ph, pw), (n, c, h, w), (oh, ow) = self._p, x.shape, self._spatial_out(x.shape)
        chunk = min(n, max(1, round(CHUNK_PIXELS / (oh * ow))))
        xpc = [np.zeros((chunk, h + 2 * ph, (w + 2 * pw) * c), dtype=x.dtype) for _ in range(workers())]
        return chunk, (oh, ow), xpc

    def _im2col_forward(self, x, W, b, out):
        """One job per chunk (``_blas.batched``: the chunks share the BLAS threads, one each)."""
        (kh, kw), (sh, sw), (ph, pw) = self._k, self._s, self._p
        n, c = x.shape[:2]
        chunk, (oh, ow), xpc = self._workspace(x)
        w_mat = np.ascontiguousarray(W.transpose(2, 3, 1, 0).reshape(kh * kw * c, -1))  # (K, F)
        cols = [np.empty((chunk * oh * ow, kh * kw * c), dtype=x.dtype) for _ in xpc]
        prod = [np.empty((chunk * oh * ow, self.out_channels), dtype=x.dtype) for _ in xpc]
        out3 = out.reshape(n, self.out_channels, oh * ow)

        def job(i, wk):
            n0 = i * chunk
            nb = min(chunk, n - n0)
            rows = nb * oh * ow
            pad_channels_last(x, n0, ph, pw, xpc[wk][:nb])
            im2col_rows(xpc[wk][:nb], c, kh, kw, sh, sw, oh, ow, cols[wk][:rows])
            np.matmul(cols[wk][:rows], w_mat, out=prod[wk][:rows])
            rows_to_nchw(prod[wk][:rows], b, n0, out3)

        batched(job, -(-n // chunk))

    # ----------------------------------------------------------------- backward
    def backward(self, dout):
        x_shape, x_dtype, x, W = self.pop_cache()
        n, f = x_shape[0], self.out_channels
        oh, ow = self._spatial_out(x_shape)
        dout = np.ascontiguousarray(self.check_dout(dout, (n, f, oh, ow), W.dtype))
        db = None  # the one-channel path takes db from its products (one pass over dout, not two)
        if self._general():
            dW, dx = general_backward(x, W, dout, self._s, self._p, self._d, self.groups, self.needs_input_grad)
        elif self._one_channel():
            dW, db, dx = one_channel_backward(x, W, dout, self._p, self.needs_input_grad, self.bias)
        elif self._winograd(oh, ow):
            dW, dx = winograd_backward(x, W, dout, self._p, self._winograd_plan(x, *dout.shape[2:]), self.needs_input_grad)
        else:
            dW, dx = self._im2col_backward(x, W, dout)
        if self.bias:
            self.set_grad("b", dout.sum(axis=(0, 2, 3)) if db is None else db)
        self.set_grad("W", dW)
        return None if dx is None else dx.astype(x_dtype, copy=False)  # a copy only if x was cast

    def _im2col_backward(self, x, W, dout):
        """One job per chunk, as in forward. Per image n of a chunk, with cols_n (P, K) its column
        matrix: dW_mat (F, K) += dout[n] (F, P) @ cols_n and dcols_n (P, K) = dout[n]^T @ W_mat,
        both straight from dout's NCHW layout (the products read dout[n] as is or transposed).
        dW sums each chunk's images, then the chunks, in a fixed order."""
        (kh, kw), (sh, sw), (ph, pw) = self._k, self._s, self._p
        n, c = x.shape[:2]
        f = self.out_channels
        chunk, (oh, ow), xpc = self._workspace(x)
        k = kh * kw * c
        w_mat = W.transpose(0, 2, 3, 1).reshape(f, k)  # (F, K), K ordered (kh, kw, c) as the columns
        cols = [np.empty((chunk, oh * ow, k), dtype=x.dtype) for _ in xpc]
        dw_images = [np.empty((chunk, f, k), dtype=x.dtype) for _ in xpc]
        n_chunks = -(-n // chunk)
        dw_parts = np.empty((n_chunks, f, k), dtype=x.dtype)
        dx = np.empty(x.shape, dtype=x.dtype) if self.needs_input_grad else None
        dxpc = [np.empty_like(buf) for buf in xpc] if self.needs_input_grad else None
        dout3 = dout.reshape(n, f, oh * ow)

        def job(i, wk):
            n0 = i * chunk
            nb = min(chunk, n - n0)
            cols_b, dout_b = cols[wk][:nb], dout3[n0 : n0 + nb]
            pad_channels_last(x, n0, ph, pw, xpc[wk][:nb])
            im2col_rows(xpc[wk][:nb], c, kh, kw, sh, sw, oh, ow, cols_b.reshape(nb * oh * ow, k))
            np.matmul(dout_b, cols_b, out=dw_images[wk][:nb])
            dw_images[wk][:nb].sum(axis=0, out=dw_parts[i])
            if dx is not None:
                np.matmul(dout_b.transpose(0, 2, 1), w_mat, out=cols_b)  # the columns' gradient
                col2im_rows(cols_b.reshape(nb * oh * ow, k), kh, kw, sh, sw, oh, ow, ph, pw, dxpc[wk][:nb], n0, dx)

        batched(job, n_chunks)
        dW = np.ascontiguousarray(dw_parts.sum(axis=0).reshape(f, kh, kw, c).transpose(0, 3, 1, 2))
        return dW, dx

    # ----------------------------------------------------------------- Winograd
    def _winograd_plan(self, x, oh, ow):
        """(m, r, tile rows, tile columns, images per chunk) of F(m x m, r x r) for input x and output (OH, OW)."""
        r = self._k[0]
        m = WINOGRAD_TILE[r]
        th, tw = -(-oh // m), -(-ow // m)
        n, a = x.shape[0], m + r - 1
        per_image = a * a * th * tw * (self.in_channels + self.out_channels) * x.dtype.itemsize
        # at least WINOGRAD_MIN_CHUNKS chunks, so that every BLAS thread gets work (a lone chunk would
        # run its products on all of them); not from the thread count, which must not change results
        images = min(round(WINOGRAD_CHUNK_BYTES / per_image), -(-n // WINOGRAD_MIN_CHUNKS))
        return m, r, th, tw, max(1, images)
