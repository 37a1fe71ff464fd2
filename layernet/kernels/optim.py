"""Optimizer update kernels: one pass over a parameter, its gradient and its state arrays.

Every kernel takes 1-D contiguous views (``param.reshape(-1)``) and updates ``param`` and the
state arrays in place; every scalar, ``1 - decay`` and the like included, arrives precomputed in
the parameter's dtype (a literal ``1`` inside a kernel would promote float32 to float64), so a
float32 model is updated in float32 arithmetic, as numpy would. ``weight_decay`` (coupled L2) is
folded into the gradient element by element: ``g = grad + weight_decay * param``, the same
``g`` the update rules below see. The rules are those of ``layernet.optim``'s module table:

    sgd          p -= lr * g
    momentum     v = mu * v - lr * g;  p += v
    nesterov     v_new = mu * v - lr * g;  p += -mu * v + (1 + mu) * v_new;  v = v_new
    rmsprop      c = decay * c + (1 - decay) * g**2;  p -= lr * g / (sqrt(c) + eps)
    adam         m = b1 * m + (1 - b1) * g;  v = b2 * v + (1 - b2) * g**2;
                 p -= lr * (m / bias1) / (sqrt(v / bias2) + eps),  bias_k = 1 - b_k**t

Why kernels: the numpy form of a momentum step reads and writes the parameter-sized arrays
about ten times (temporaries for ``lr * g``, ``g**2``, ...); fused, each array is read once and
written at most once. Single-threaded, like the activations: a memory-bound pass gains little
from a second thread and would wait for the BLAS pool's hand-over.
"""

from __future__ import annotations

import numpy as np

from ._jit import njit_kernel


@njit_kernel
def sgd_update(param, grad, lr, weight_decay):
    """Plain SGD: p -= lr * (grad + weight_decay * p)."""
    for i in range(param.shape[0]):
        g = grad[i] + weight_decay * param[i]
        param[i] -= lr * g


@njit_kernel
def sgd_momentum_update(param, grad, velocity, lr, momentum, one_plus_momentum, weight_decay, nesterov):
    """SGD with momentum (cs231n's velocity with lr folded in); Nesterov's look-ahead when ``nesterov``."""
    for i in range(param.shape[0]):
        g = grad[i] + weight_decay * param[i]
        v_old = velocity[i]
        v_new = momentum * v_old - lr * g
        velocity[i] = v_new
        if nesterov:
            param[i] += one_plus_momentum * v_new - momentum * v_old
        else:
            param[i] += v_new


@njit_kernel
def rmsprop_update(param, grad, cache, lr, decay, one_minus_decay, eps, weight_decay):
    """RMSProp: c = decay * c + (1 - decay) * g**2; p -= lr * g / (sqrt(c) + eps)."""
    for i in range(param.shape[0]):
        g = grad[i] + weight_decay * param[i]
        c = decay * cache[i] + one_minus_decay * (g * g)
        cache[i] = c
        param[i] -= lr * g / (np.sqrt(c) + eps)


@njit_kernel
def adam_update(param, grad, m, v, lr, beta1, one_minus_beta1, beta2, one_minus_beta2, eps, bias1, bias2,
                weight_decay):
    """Adam with bias correction; ``bias1 = 1 - beta1**t`` and ``bias2 = 1 - beta2**t`` for step t."""
    for i in range(param.shape[0]):
        g = grad[i] + weight_decay * param[i]
        m_i = beta1 * m[i] + one_minus_beta1 * g
        v_i = beta2 * v[i] + one_minus_beta2 * (g * g)
        m[i] = m_i
        v[i] = v_i
        param[i] -= lr * (m_i / bias1) / (np.sqrt(v_i / bias2) + eps)


# ---------------------------------------------------------------------- AdamW, Adagrad, Adadelta (torch.optim's rules)
@njit_kernel
def adamw_update(param, grad, m, v, lr, beta1, one_minus_beta1, beta2, one_minus_beta2, eps, bias1, bias2,
                 lr_times_decay):
    """AdamW: p -= lr * weight_decay * p (decoupled, before the step), then Adam's step on the raw gradient.

    ``lr_times_decay`` = lr * weight_decay; the gradient is *not* changed by the decay.
    """
    keep = 1 - lr_times_decay
    for i in range(param.shape[0]):
        g = grad[i]
        m_i = beta1 * m[i] + one_minus_beta1 * g
        v_i = beta2 * v[i] + one_minus_beta2 * (g * g)
        m[i] = m_i
        v[i] = v_i
        param[i] = param[i] * keep - lr * (m_i / bias1) / (np.sqrt(v_i / bias2) + eps)


@njit_kernel
def adagrad_update(param, grad, sum_sq, lr, eps, weight_decay):
    """Adagrad: s += g**2; p -= lr * g / (sqrt(s) + eps), g = grad + weight_decay * p (coupled)."""
    for i in range(param.shape[0]):
        g = grad[i] + weight_decay * param[i]
        s = sum_sq[i] + g * g
        sum_sq[i] = s
        param[i] -= lr * g / (np.sqrt(s) + eps)


@njit_kernel
def adadelta_update(param, grad, square_avg, acc_delta, lr, rho, one_minus_rho, eps, weight_decay):
    """Adadelta: a = rho a + (1-rho) g**2; d = sqrt(u + eps) / sqrt(a + eps) * g; u = rho u + (1-rho) d**2; p -= lr d."""
    for i in range(param.shape[0]):
        g = grad[i] + weight_decay * param[i]
        a = rho * square_avg[i] + one_minus_rho * (g * g)
        square_avg[i] = a
        d = np.sqrt(acc_delta[i] + eps) / np.sqrt(a + eps) * g
        acc_delta[i] = rho * acc_delta[i] + one_minus_rho * (d * d)
        param[i] -= lr * d
