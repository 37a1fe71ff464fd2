"""Gates: the primitive operations of backprop, each with a hand-derived backward.

    from layernet.ops import Add, Multiply
    add, mul = Add(), Multiply()
    q = add.forward(-2.0, 5.0)          # q = x + y = 3
    f = mul.forward(q, -4.0)            # f = q * z = -12
    dq, dz = mul.backward(1.0)          # df/dq = z = -4, df/dz = q = 3
    dx, dy = add.backward(dq)           # the add gate passes -4 to both

Every op follows the protocol in ``layernet.ops.base``; ``layernet.gradcheck.check_op``
compares its backward with centred finite differences.
"""

from .arithmetic import Add, Divide, Multiply, Negative, Power, Subtract
from .base import BinaryOp, Op, UnaryOp, unbroadcast
from .elementwise import Exp, Log, Pow, ReLU, Sigmoid, Tanh
from .indexing import Index, Where
from .joining import Concatenate, Stack
from .matmul import MatMul
from .reductions import Max, Maximum, Mean, Sum
from .shape import BroadcastTo, Reshape, SwapAxes, Transpose

__all__ = [
    "Op", "UnaryOp", "BinaryOp", "unbroadcast",
    "Add", "Subtract", "Multiply", "Divide", "Power", "Negative",
    "MatMul",
    "Sum", "Mean", "Max", "Maximum",
    "BroadcastTo", "Reshape", "Transpose", "SwapAxes",
    "Exp", "Log", "Pow", "Sigmoid", "Tanh", "ReLU",
    "Index", "Where", "Concatenate", "Stack",
]
