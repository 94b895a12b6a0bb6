"""The functions that build op nodes. Each one is a single entry of the op table in ops.py."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import InputTypeError
from .nodes import Node, apply, as_node
from .ops import Op, as_float, define

__all__ = ["add", "sub", "mul", "div", "power", "exp", "log", "sin", "cos", "tanh", "sigmoid",
           "relu", "square", "copy", "sum", "mean", "matmul", "append_one",
           "binary_cross_entropy", "squared_error", "new_op"]


def add(a: Any, b: Any, name: str | None = None) -> Node:
    """a + b, as a named node (the operator `a + b` gives an automatic name)."""
    return apply("add", a, b, name=name)


def sub(a: Any, b: Any, name: str | None = None) -> Node:
    return apply("sub", a, b, name=name)


def mul(a: Any, b: Any, name: str | None = None) -> Node:
    return apply("mul", a, b, name=name)


def div(a: Any, b: Any, name: str | None = None) -> Node:
    return apply("div", a, b, name=name)


def power(x: Any, p: float, name: str | None = None) -> Node:
    """x ** p for a number p (p = 2 gives the square op, as x ** 2 does)."""
    node = as_node(x) ** p
    if name is not None:
        node.name = name  # checked by Node: a name is a non-empty string
    return node


def exp(x: Any, name: str | None = None) -> Node:
    """e^x. Raises DomainError for x above 709.78, where a float overflows."""
    return apply("exp", x, name=name)


def log(x: Any, name: str | None = None) -> Node:
    """Natural logarithm; raises DomainError for x <= 0."""
    return apply("log", x, name=name)


def sin(x: Any, name: str | None = None) -> Node:
    return apply("sin", x, name=name)


def cos(x: Any, name: str | None = None) -> Node:
    return apply("cos", x, name=name)


def tanh(x: Any, name: str | None = None) -> Node:
    return apply("tanh", x, name=name)


def sigmoid(x: Any, name: str | None = None) -> Node:
    """σ(x) = 1/(1+e^(−x)), local derivative σ(1−σ). Computed from e^(−|x|), whose argument is
    never positive, so it is finite and raises no overflow warning for any finite x (±1e4
    included): σ(1e4) is exactly 1.0 and σ(−1e4) exactly 0.0."""
    return apply("sigmoid", x, name=name)


def relu(x: Any, name: str | None = None) -> Node:
    """max(x, 0); its derivative at exactly 0 is taken as 0."""
    return apply("relu", x, name=name)


def square(x: Any, name: str | None = None) -> Node:
    return apply("square", x, name=name)


def copy(x: Any, name: str | None = None) -> Node:
    """x itself, as a node of its own: where one shared value (a weight used at every time step)
    should be drawn once per use. Its local derivative is 1, so the gradients of the copies add
    up in x."""
    return apply("copy", x, name=name)


def sum(x: Any, name: str | None = None, axis: None = None) -> Node:  # noqa: A001
    """Sum of all elements (a scalar)."""
    _no_axis("sum", axis)
    return apply("sum", x, name=name)


def mean(x: Any, name: str | None = None, axis: None = None) -> Node:
    """Mean of all elements (a scalar)."""
    _no_axis("mean", axis)
    return apply("mean", x, name=name)


def _no_axis(op: str, axis: Any) -> None:
    if axis is not None:
        raise InputTypeError(f"cg.{op} reduces every element to one number and takes no axis "
                             f"(got axis={axis!r}); for one {op} per row of X (m×n), multiply "
                             f"by a column of ones: X @ np.ones((n, 1))"
                             + (" / n" if op == "mean" else ""))


def matmul(a: Any, b: Any, name: str | None = None) -> Node:
    """Matrix product a @ b of vectors and matrices (1-D or 2-D)."""
    return apply("matmul", a, b, name=name)


def append_one(x: Any, name: str | None = None) -> Node:
    """[x, 1]: a vector with a bias 1 appended, or a column of ones appended to a matrix whose
    rows are examples."""
    return apply("append_one", x, name=name)


def binary_cross_entropy(pred: Any, target: Any, name: str | None = None) -> Node:
    """Mean of −t·log p − (1−t)·log(1−p) over all elements; pred and target of the same shape.
    Stays finite for saturated predictions: p is clipped to [1e−12, 1 − 1e−12] inside the logs
    (so one example costs at most about 27.6), and the derivative (p−t)/(p(1−p)) uses the clipped
    p. With sigmoid(z) as pred that keeps loss and gradients finite for logits up to ±1e4."""
    return apply("bce", pred, target, name=name)


def squared_error(pred: Any, target: Any, name: str | None = None) -> Node:
    """½‖pred − target‖², summed over all elements; pred and target of the same shape."""
    return apply("sqerr", pred, target, name=name)


def _real(result: Any) -> Any:
    """A new op's result as the engine holds values; a complex one is an error (the graph turns
    it into DomainError naming the node), not a silently dropped imaginary part."""
    if np.iscomplexobj(result):
        raise TypeError(f"the op returned a complex number {result!r:.60}, not a real number")
    if type(result) is np.ndarray and result.dtype != np.float64 and result.ndim:
        result = result.astype(float)
    result = as_float(result)
    # numpy's flags catch what the built-in ops overflow; a new op may return inf without any
    if not (math.isfinite(result) if type(result) is float else np.isfinite(result).all()):
        raise FloatingPointError("the op returned a value that is not finite")
    return result


def _checked_local(op: str, local: Callable[..., Any], arity: int) -> Callable[..., tuple]:
    """A learner's local(out, *xs), held to its promise: one local derivative per input."""
    def checked(out: Any, *xs: Any) -> tuple:
        result = local(out, *xs)
        if arity == 1 and not isinstance(result, (tuple, list)):
            return (result,)  # a bare derivative of a one-input op: the intent is clear
        if not isinstance(result, (tuple, list)) or len(result) != arity:
            raise InputTypeError(f"new_op {op!r}: local(out, ...) must return a tuple of "
                                 f"{arity} local derivatives, one per input; it returned "
                                 f"{result!r:.80}")
        return tuple(result)
    return checked


def new_op(name: str, forward: Callable[..., Any], local: Callable[..., tuple], *,
           formula: str | None = None, deriv: tuple[str, ...] | None = None,
           symbol: str | None = None) -> Callable[..., Node]:
    """Add an elementwise op to the op table and return the function that builds its nodes.

    forward(*xs) computes the value; local(out, *xs) returns one local derivative per input,
    d out / d x_i, elementwise. Example (softplus, whose derivative is the sigmoid):

        softplus = cg.new_op("softplus", lambda x: np.log1p(np.exp(x)),
                             lambda out, x: (1 / (1 + np.exp(-x)),), deriv=("σ({0})",))
        cg.gradcheck(cg.Graph(softplus(x)), x=0.3)   # tiny: the derivative is right
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise InputTypeError(f"new_op: the op's name is a word such as 'softplus', got "
                             f"{name!r}")
    if deriv:
        arity = len(deriv)
    else:
        try:
            parameters = inspect.signature(forward).parameters.values()
        except (TypeError, ValueError):  # a builtin such as np.sin may have no signature
            parameters = None
        if parameters is None or any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                                     for p in parameters):
            raise InputTypeError(f"new_op({name!r}): cannot tell how many inputs the op takes "
                                 f"from its forward function; pass deriv=(...) with one label "
                                 f"per input, e.g. deriv=('∂/∂a', '∂/∂b', '∂/∂c') for three")
        arity = len(parameters)
    slots = ", ".join(f"{{{i}}}" for i in range(arity))
    define(Op(name, symbol or name, formula or f"{name}({slots})",
              deriv or tuple(f"∂{name}/∂x{i + 1}" for i in range(arity)),
              lambda *xs: _real(forward(*xs)), _checked_local(name, local, arity)))

    def build(*args: Any, name: str | None = None) -> Node:
        if len(args) != arity:
            raise InputTypeError(f"{build.__name__} takes {arity} input(s), got {len(args)}")
        return apply(op_name, *args, name=name)

    op_name = name
    build.__name__ = name
    return build
