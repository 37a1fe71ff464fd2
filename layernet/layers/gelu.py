"""Gaussian error linear unit (Hendrycks & Gimpel 2016), exact or with the tanh approximation."""

from __future__ import annotations

from .._validation import invalid_argument
from ..kernels.gelu import gelu_backward, gelu_forward
from ..registry import LAYERS
from .activation import _Elementwise


@LAYERS.register("gelu")
class GELU(_Elementwise):
    """GELU, out = x * Phi(x), Phi the standard normal CDF; PyTorch's ``nn.GELU(approximate=...)``.

    Shapes: x (any) -> out (same as x).
    ``approximate="none"``: Phi(x) = (1 + erf(x / sqrt(2))) / 2 and
    dx = dout * (Phi(x) + x * phi(x)), phi(x) = exp(-x^2 / 2) / sqrt(2 pi) the normal density.
    ``approximate="tanh"``: out = x/2 * (1 + tanh(u)), u = sqrt(2/pi) * (x + 0.044715 x^3), and
    dx = dout * ((1 + tanh u)/2 + x/2 * (1 - tanh^2 u) * sqrt(2/pi) * (1 + 3 * 0.044715 x^2)).
    """

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise invalid_argument("GELU", "approximate", "'none' or 'tanh'", approximate)
        self.approximate = approximate

    def _forward_kernel(self, x, out):
        gelu_forward(x, self.approximate == "tanh", out)

    def _backward_kernel(self, x, dout, dx):
        gelu_backward(x, dout, self.approximate == "tanh", dx)
