"""Elementwise activation kernels on flat arrays.

Every kernel takes 1-D contiguous arrays of one length (the caller passes ``a.reshape(-1)``) and
writes into arrays the caller allocated. They are memory-bound single passes; ``prange`` splits
the index range into disjoint blocks, so each element is written by one thread and results do
not depend on the thread count.

Backward kernels take whichever forward array is cheapest to keep: the input (ReLU, leaky
ReLU) or the output (sigmoid, tanh, whose derivatives are functions of the output).
"""

from __future__ import annotations

import math

from numba import prange

from ._jit import njit_kernel

#: Measured on the 2-core machines (128x32x28x28 float32, ReLU): the single-threaded
#: kernels were as fast as or faster than ``parallel=True`` (both Numba threading layers), and far
#: faster when the cores are shared, because a memory-bound pass gains little from a second thread
#: while a parallel region waits for its slowest thread. ``prange`` stays, so flipping this flag
#: is all it takes to parallelise (still deterministic: one thread per block of elements).
#: Checked again with one process per library (LeNet-BN train step, two runs each): parallel
#: ReLU kernels gave 1.11x and 1.12x PyTorch's step, serial ones 0.94x and 1.02x.
PARALLEL = False


@njit_kernel(parallel=PARALLEL)
def relu_forward(x, out):
    """out = max(0, x); x, out (L,)."""
    zero = out.dtype.type(0)
    for i in prange(x.shape[0]):
        out[i] = max(x[i], zero)


@njit_kernel(parallel=PARALLEL)
def relu_backward(x, dout, dx):
    """dx = dout where x > 0, else 0 (the gradient at exactly 0 is 0); x, dout, dx (L,).

    ``x`` may also be the forward output: out > 0 exactly where x > 0.
    """
    zero = dx.dtype.type(0)
    for i in prange(x.shape[0]):
        dx[i] = dout[i] if x[i] > zero else zero


@njit_kernel(parallel=PARALLEL)
def leaky_relu_forward(x, slope, out):
    """out = x if x > 0 else slope * x; x, out (L,)."""
    zero = out.dtype.type(0)
    s = out.dtype.type(slope)
    for i in prange(x.shape[0]):
        v = x[i]
        out[i] = v if v > zero else s * v


@njit_kernel(parallel=PARALLEL)
def leaky_relu_backward(x, dout, slope, dx):
    """dx = dout if x > 0 else slope * dout (slope at exactly 0); x, dout, dx (L,)."""
    zero = dx.dtype.type(0)
    s = dx.dtype.type(slope)
    for i in prange(x.shape[0]):
        g = dout[i]
        dx[i] = g if x[i] > zero else s * g


@njit_kernel(parallel=PARALLEL)
def sigmoid_forward(x, out):
    """out = 1 / (1 + exp(-x)), evaluated without overflow; x, out (L,).

    For x >= 0 the formula above (exp(-x) <= 1); for x < 0 the equal form e / (1 + e) with
    e = exp(x) <= 1. Large |x| gives exactly 0 or 1, never inf or nan.
    """
    one = out.dtype.type(1)
    zero = out.dtype.type(0)
    for i in prange(x.shape[0]):
        v = x[i]
        if v >= zero:
            out[i] = one / (one + math.exp(-v))
        else:
            e = math.exp(v)
            out[i] = e / (one + e)


@njit_kernel(parallel=PARALLEL)
def sigmoid_backward(out, dout, dx):
    """dx = dout * s * (1 - s) with s = sigmoid(x) the forward output; out, dout, dx (L,)."""
    one = dx.dtype.type(1)
    for i in prange(out.shape[0]):
        s = out[i]
        dx[i] = dout[i] * s * (one - s)


@njit_kernel(parallel=PARALLEL)
def tanh_forward(x, out):
    """out = tanh(x); x, out (L,)."""
    for i in prange(x.shape[0]):
        out[i] = math.tanh(x[i])


@njit_kernel(parallel=PARALLEL)
def tanh_backward(out, dout, dx):
    """dx = dout * (1 - t**2) with t = tanh(x) the forward output; out, dout, dx (L,)."""
    one = dx.dtype.type(1)
    for i in prange(out.shape[0]):
        t = out[i]
        dx[i] = dout[i] * (one - t * t)
