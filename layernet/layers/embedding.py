"""Embedding: a lookup table from integer indices (words, characters) to vectors."""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from ..init import as_rng, check_init, initialize
from ..kernels.recurrent import embedding_backward
from ..registry import LAYERS
from .base import Layer


@LAYERS.register("embedding")
class Embedding(Layer):
    """out[n, t] = W[x[n, t]] (cs231n's word_embedding_forward, PyTorch's ``nn.Embedding``).

    Shapes: x (N, T) integers in [0, V) (any (N, ...) works); W (V, D) with V = num_embeddings,
    D = embedding_dim; out (N, T, D) in W's dtype. Integer input only: a float array is refused
    (as PyTorch), and so is an index outside [0, V) (negative indices do not wrap).
    Backward: dW[v] = sum of dout[n, t] over every (n, t) with x[n, t] = v (repeated indices
    accumulate); x is not differentiable, so backward returns None.
    Initialisation: ``init=1.0`` draws W from N(0, 1) (PyTorch's default); any ``layernet.init`` name
    or std works. In a config on a text data set, ``num_embeddings`` defaults to the vocabulary size.
    """

    _positional = ("num_embeddings", "embedding_dim")
    inferred_args = ("num_embeddings",)
    #: the input is indices, not values: checkers feed integers in [0, num_embeddings)
    integer_input = True
    #: weight decay applies to the table (the old name rule's choice; PyTorch decays every parameter)
    decayed = ("W",)

    def __init__(self, num_embeddings, embedding_dim, *, init=1.0, rng=None):
        super().__init__()
        self.num_embeddings = check_int("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = check_int("Embedding", "embedding_dim", embedding_dim)
        check_init("Embedding", init)
        self.init = init
        self.rng = as_rng(rng)
        shape = (self.num_embeddings, self.embedding_dim)
        self.init_param("W", initialize(init, shape, self.num_embeddings, self.embedding_dim, self.rng))

    def random_input(self, rng, shape):
        """Valid indices of ``shape`` (batch included), for gradient checks that feed random inputs."""
        return rng.integers(0, self.num_embeddings, size=shape)

    @classmethod
    def infer_config(cls, config, input_shape):
        config = dict(config)
        if config.get("num_embeddings") is None:
            raise ValueError(
                "Embedding: expected num_embeddings (the vocabulary size); it is inferred only for a text data "
                "set (dataset: text), found none"
            )
        return config

    def output_shape(self, input_shape):
        if len(input_shape) < 1:
            raise self.fail_shape("(N, T) of integer indices", (None, *input_shape))
        return (*input_shape, self.embedding_dim)

    def forward(self, x, training=False):
        try:
            x = np.asarray(x)
        except (ValueError, TypeError) as err:  # ragged nested lists
            raise ValueError(f"Embedding: expected an integer array of indices, found {type(x).__name__} ({err})") from None
        if x.dtype == np.bool_ or not np.issubdtype(x.dtype, np.integer):
            raise ValueError(f"Embedding: expected integer indices in [0, {self.num_embeddings}), found dtype {x.dtype} "
                             f"with shape {x.shape}")
        if x.ndim < 2 or x.shape[0] == 0:
            raise self.fail_shape("(N, T) of integer indices with N >= 1", x.shape)
        self.check_param_shapes()
        if x.size:
            low, high = int(x.min()), int(x.max())
            if low < 0 or high >= self.num_embeddings:
                bad = low if low < 0 else high
                raise ValueError(f"Embedding: expected indices in [0, {self.num_embeddings}), found {bad}")
        W = self.params["W"]
        self.save_cache(x)
        return W[x]

    def backward(self, dout):
        x = self.pop_cache()
        W = self.params["W"]
        dout = self.check_dout(dout, (*x.shape, self.embedding_dim), W.dtype)
        dW = np.zeros_like(W)
        embedding_backward(np.ascontiguousarray(x.reshape(-1), dtype=np.intp),
                           np.ascontiguousarray(dout.reshape(-1, self.embedding_dim)), dW)
        self.set_grad("W", dW)
        return None
