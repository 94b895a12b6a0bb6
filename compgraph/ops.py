"""The op table: every operation compgraph knows, each defined exactly once.

An entry holds
  forward   the function itself, on Python floats or numpy arrays;
  local     its local derivative with respect to each input, d out / d input,
            elementwise, given the input values and the output;
  formula   how the node is written, e.g. "sin({0})", with {0}, {1} the input names;
  deriv     the same derivatives as symbolic labels in terms of node names, e.g. "cos({0})";
  shapes    an optional shape check that returns a message for inputs the op cannot combine,
            run before the op on every pass (numpy would broadcast some of them silently);
  check     an optional domain check that returns a message for bad values. It explains a
            failure: the graph runs it only when the op raised or gave a non-finite result
            (every pass runs under np.errstate(..., 'raise'), and plain-float results are
            checked with math.isfinite), so it costs nothing on a pass that succeeds.

Backward, forward mode, path products, edge labels, gradcheck and the widgets all read this
table. Elementwise ops need nothing else: the vector-Jacobian product is upstream * local, summed
over broadcast axes. Reductions (sum, mean, the losses) produce one number, so their products are
spread back over the input's shape. Only the two structural ops, matmul and append_one, carry an
explicit `vjp` and `jvp`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

Value = Union[float, np.ndarray]

#: Probabilities are clipped to [EPS, 1 - EPS] inside binary cross-entropy's logs.
EPS = 1e-12
#: math.exp overflows a float beyond this argument.
EXP_MAX = 709.78


@dataclass(frozen=True)
class Op:
    name: str
    symbol: str
    formula: str
    deriv: tuple[str, ...]
    forward: Callable[..., Value]
    local: Callable[..., tuple] | None = None
    reduces: bool = False
    check: Callable[..., str | None] | None = None  # explains a failed or non-finite result
    vjp: Callable[..., tuple] | None = None
    jvp: Callable[..., Value] | None = None
    shapes: Callable[..., str | None] | None = None  # run before the op, on every pass

    @property
    def arity(self) -> int:
        return len(self.deriv)


def shape_of(value: Value) -> tuple[int, ...]:
    return () if type(value) is float else value.shape


def fit(grad: Any, like: Value) -> Value:
    """Give `grad` the shape of `like`: sum over axes that broadcasting added, or spread a number
    over the whole shape (the gradient of a reduction)."""
    if type(grad) is type(like) and (type(grad) is float or grad.shape == like.shape):
        return grad  # the common case: already the input's shape
    if type(like) is float:
        return float(np.sum(grad))
    shape = like.shape
    if type(grad) is float:  # a reduction's gradient: the same number for every element
        return np.full(shape, grad)
    grad = np.asarray(grad, dtype=float)
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    if grad.ndim == len(shape):
        axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
        if axes:
            grad = grad.sum(axis=axes, keepdims=True)
    if grad.shape != shape:
        grad = np.broadcast_to(grad, shape).copy()
    return grad


def as_float(x: Any) -> Value:
    """numpy returns 0-d results for reductions; keep scalars as plain Python floats."""
    if type(x) is np.ndarray:
        return x if x.ndim else float(x)
    return float(x) if np.ndim(x) == 0 else x


def _unary(scalar_fn: Callable, array_fn: Callable) -> Callable[[Value], Value]:
    # math.* is several times faster than numpy on plain floats, which scalar graphs are made of.
    def unary(x: Value) -> Value:
        return scalar_fn(x) if type(x) is float else array_fn(x)
    return unary


def _sigmoid_scalar(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _sigmoid_array(x: np.ndarray) -> np.ndarray:
    # The plain formula is exact for every x whose e^(−x) fits a float; passes run with
    # overflow raising, so a logit below −709 lands in the branch that cannot overflow.
    try:
        e = np.negative(x)
        np.exp(e, out=e)
        e += 1.0  # in place: 1 / (1 + e^(−x)) with one array allocated instead of four
        return np.divide(1.0, e, out=e)
    except FloatingPointError:
        e = np.exp(-np.abs(x))  # never overflows: the argument is <= 0
        d = 1.0 + e
        return np.where(x >= 0, 1.0 / d, e / d)


sigmoid_value = _unary(_sigmoid_scalar, _sigmoid_array)
"""σ(z) = 1/(1+e^(−z)); where e^(−z) would overflow, computed from e^(−|z|), whose exponent is never
positive: finite for any finite z (σ(±1e4) is exactly 1.0 or 0.0)."""


def _step(x: Value) -> Value:
    return (1.0 if x > 0 else 0.0) if type(x) is float else (x > 0).astype(float)


try:  # the ufunc inside np.clip, without np.clip's slower argument handling
    from numpy._core.umath import clip as _clip_ufunc
except ImportError:  # pragma: no cover - numpy < 2
    def _clip_ufunc(p: np.ndarray, lo: float, hi: float) -> np.ndarray:
        return np.minimum(np.maximum(p, lo), hi)

_HIGH = 1.0 - EPS


def _clip(p: Value) -> Value:
    if type(p) is float:
        return min(max(p, EPS), _HIGH)
    return _clip_ufunc(p, EPS, _HIGH)


_log = _unary(math.log, np.log)
_exp = _unary(math.exp, np.exp)


def _size(x: Value) -> int:
    return 1 if type(x) is float else x.size


# np.sum and np.mean spend microseconds sorting out their arguments, more than the arithmetic on
# the small arrays these graphs hold. np.add.reduce is the ufunc both end in: same bits, sooner.
def _sum(x: Value) -> Any:
    return np.add.reduce(x, axis=None)


def _mean(x: Value) -> Any:
    return np.add.reduce(x, axis=None) / _size(x)


def _bce(p: Value, t: Value) -> float:
    q = _clip(p)
    if type(q) is float and type(t) is float:
        return -(t * math.log(q) + (1.0 - t) * math.log(1.0 - q))
    terms = t * np.log(q)
    terms += (1.0 - t) * np.log(1.0 - q)  # (in place: one array fewer to allocate)
    # the mean as Python floats: the same IEEE division and negation as numpy's, sooner
    return -(float(np.add.reduce(terms, axis=None)) / terms.size)


def _bce_local(out: float, p: Value, t: Value) -> tuple:
    return _bce_dp(out, p, t), _bce_dt(out, p, t)


def _bce_dp(out: float, p: Value, t: Value) -> Value:
    q = _clip(p)
    if type(q) is float and type(t) is float:
        return (q - t) / (q * (1.0 - q))
    spread = 1.0 - q
    spread *= q  # q(1 − q), in place where q is an array
    dp = q - t
    dp /= spread
    dp /= dp.size  # the size of the larger of p and t, which have one shape or one is a number
    return dp


def _bce_dt(out: float, p: Value, t: Value) -> Value:
    q = _clip(p)
    return _log((1.0 - q) / q) / max(_size(p), _size(t))


def _same_shape(name: str) -> Callable[..., str | None]:
    def check(p: Value, t: Value) -> str | None:
        sp, st = shape_of(p), shape_of(t)
        if sp != st and sp != () and st != ():
            return (f"prediction shape {sp} and target shape {st} differ "
                    f"(reshape the target; {name} does not broadcast)")
        if _size(p) == 0 or _size(t) == 0:
            return f"{name} of an empty array (shape {sp if _size(p) == 0 else st}) is undefined"
        return None
    return check


def _not_empty(x: Value) -> str | None:
    if type(x) is not float and x.size == 0:
        return f"mean of an empty array (shape {x.shape}) is undefined: it has no elements"
    return None


# --- checks: return a message describing the bad value, or None -----------------------------

def _positive(x: Value) -> str | None:
    if np.any(x <= 0):
        bad = x if type(x) is float else float(x[x <= 0].flat[0])
        return f"log needs positive input, got {bad!r}"
    return None


def _nonzero_divisor(a: Value, b: Value) -> str | None:
    if np.any(b == 0):
        return f"division by zero: divisor {b!r}" if type(b) is float else \
            f"division by zero: divisor has {int(np.sum(b == 0))} zero element(s)"
    return None


def _no_overflow(x: Value) -> str | None:
    if np.any(x > EXP_MAX):
        return f"exp overflows for input {float(np.max(x))!r} > {EXP_MAX}"
    return None


def _power_domain(x: Value, p: float) -> str | None:
    if p != int(p) and np.any(x < 0):
        return f"x ** {p} is not real for negative x ({float(np.min(x))!r})"
    if p < 0 and np.any(x == 0):
        return f"0 ** {p} is a division by zero"
    return None


def _pow(a: Value, p: float) -> Value:
    # math.pow raises for what has no real finite value (overflow, a negative base with a
    # fractional exponent), where float ** float would return inf or a complex number
    return math.pow(a, p) if type(a) is float else np.power(a, p)


def _pow_local(out: Value, a: Value, p: float) -> tuple:
    if p == 0.0:  # x ** 0 is constant: its derivative is 0, at x = 0 too
        return (0.0,)
    return (p * _pow(a, p - 1.0),)


def _matmul_shapes(a: Value, b: Value) -> str | None:
    sa, sb = shape_of(a), shape_of(b)
    if not (1 <= len(sa) <= 2 and 1 <= len(sb) <= 2) or sa[-1] != sb[0]:
        return f"cannot multiply shapes {sa} @ {sb}"
    return None


# --- the structural ops: explicit vector-Jacobian and Jacobian-vector products -------------

#: A threaded BLAS may compute parts of a large product on other threads, whose floating-point
#: flags np.errstate never sees; products with at least this many multiply-adds are checked for
#: overflow explicitly (small ones run on the calling thread, and cost less than a check).
THREADED_PRODUCT = 1 << 15


def _product(a: np.ndarray, b: np.ndarray) -> Any:
    out = a @ b
    if type(out) is np.ndarray and out.size * a.shape[-1] >= THREADED_PRODUCT \
            and not np.isfinite(out).all():
        raise FloatingPointError("overflow encountered in matmul")
    return out


def _matmul_vjp(g: Value, out: Value, a: np.ndarray, b: np.ndarray) -> tuple:
    if a.ndim == 1 and b.ndim == 1:
        return g * b, g * a
    if a.ndim == 1:
        return _product(b, g), np.outer(a, g)
    if b.ndim == 1:
        return np.outer(g, b), _product(a.T, g)
    return _product(g, b.T), _product(a.T, g)


def _matmul(a: np.ndarray, b: np.ndarray) -> Value:
    out = a @ b
    if type(out) is np.ndarray:
        if out.size * a.shape[-1] >= THREADED_PRODUCT and not np.isfinite(out).all():
            raise FloatingPointError("overflow encountered in matmul")
        return out if out.ndim else float(out)
    return float(out)


def _append_one(x: np.ndarray) -> np.ndarray:
    return np.concatenate((x, np.ones(x.shape[:-1] + (1,))), x.ndim - 1)


def _append_one_shape(x: Value) -> str | None:
    return "append_one needs a vector or a matrix of row vectors, got a scalar" \
        if type(x) is float else None


OPS: dict[str, Op] = {}


def define(*ops: Op) -> None:
    """Add ops to the table. A name already taken is replaced (re-running a notebook cell that
    defines an op must work)."""
    for op in ops:
        OPS[op.name] = op


define(
    Op("add", "+", "{0} + {1}", ("1", "1"),
       lambda a, b: a + b, lambda out, a, b: (1.0, 1.0)),
    Op("sub", "−", "{0} − {1}", ("1", "−1"),
       lambda a, b: a - b, lambda out, a, b: (1.0, -1.0)),
    Op("mul", "×", "{0}·{1}", ("{1}", "{0}"),
       lambda a, b: a * b, lambda out, a, b: (b, a)),
    Op("div", "÷", "{0} / {1}", ("1/{1}", "−{0}/{1}²"),
       lambda a, b: a / b, lambda out, a, b: (1.0 / b, -out / b),
       check=_nonzero_divisor),
    Op("neg", "−", "−{0}", ("−1",),
       lambda a: -a, lambda out, a: (-1.0,)),
    Op("pow", "^", "{0}^{p}", ("{p}·{0}^({p}−1)",),
       _pow, _pow_local, check=_power_domain),
    Op("square", "x²", "{0}²", ("2{0}",),
       lambda a: a * a, lambda out, a: (2.0 * a,)),
    Op("exp", "exp", "e^{0}", ("e^{0}",),
       _exp, lambda out, a: (out,), check=_no_overflow),
    Op("log", "log", "log({0})", ("1/{0}",),
       _log, lambda out, a: (1.0 / a,), check=_positive),
    Op("sin", "sin", "sin({0})", ("cos({0})",),
       _unary(math.sin, np.sin), lambda out, a: (_unary(math.cos, np.cos)(a),)),
    Op("cos", "cos", "cos({0})", ("−sin({0})",),
       _unary(math.cos, np.cos), lambda out, a: (-_unary(math.sin, np.sin)(a),)),
    Op("tanh", "tanh", "tanh({0})", ("1−{out}²",),
       _unary(math.tanh, np.tanh), lambda out, a: (1.0 - out * out,)),
    Op("sigmoid", "σ", "σ({0})", ("{out}(1−{out})",),
       sigmoid_value, lambda out, a: (out * (1.0 - out),)),
    Op("relu", "relu", "relu({0})", ("[{0}>0]",),
       _unary(lambda a: a if a > 0 else 0.0, lambda a: np.maximum(a, 0.0)),
       lambda out, a: (_step(a),)),
    # One copy of a shared value per place it is used (an unrolled RNN draws its shared weights
    # once per time step): the local derivative is 1, so the copies' gradients add up in x.
    Op("copy", "=", "{0}", ("1",), lambda a: a, lambda out, a: (1.0,)),
    Op("sum", "Σ", "Σ{0}", ("1",),
       lambda a: as_float(_sum(a)) if type(a) is not float else a,
       lambda out, a: (1.0,), reduces=True),
    Op("mean", "mean", "mean({0})", ("1/m",),  # m: how many entries the mean divides by
       lambda a: as_float(_mean(a)) if type(a) is not float else a,
       lambda out, a: (1.0 / _size(a),), reduces=True, shapes=_not_empty),
    Op("bce", "BCE", "BCE({0}, {1})",
       ("({0}−{1})/(m·{0}(1−{0}))", "log((1−{0})/{0})/m"),  # a mean over m entries
       _bce, _bce_local, reduces=True, shapes=_same_shape("binary_cross_entropy")),
    Op("sqerr", "½‖·‖²", "½‖{0} − {1}‖²", ("{0}−{1}", "{1}−{0}"),
       lambda p, t: as_float(0.5 * _sum((p - t) ** 2)),
       lambda out, p, t: (p - t, t - p), reduces=True, shapes=_same_shape("squared_error")),
    # Labels as the lessons write local derivatives: ∂(L2 @ θ2)/∂L2 is "θ2" (the backward
    # pass multiplies by its transpose: see _matmul_vjp).
    Op("matmul", "@", "{0} @ {1}", ("{1}", "{0}"),
       _matmul, lambda out, a, b: (b, a), shapes=_matmul_shapes,
       vjp=_matmul_vjp,
       jvp=lambda out, a, b, da, db: _matmul(da, b) + _matmul(a, db)),
    Op("append_one", "[·,1]", "[{0}, 1]", ("[I 0]",),
       _append_one, lambda out, a: (1.0,), shapes=_append_one_shape,
       vjp=lambda g, out, a: (g[..., :-1],),
       jvp=lambda out, a, da: np.concatenate([da, np.zeros(da.shape[:-1] + (1,))], -1)),
)


#: The ops the package defines itself (new_op adds to OPS; these stay as they are).
BUILTIN = frozenset(OPS)


def vjp(op: Op, upstream: Value, out: Value, inputs: list | tuple, attrs: dict) -> list:
    """The op's vector-Jacobian product: for each input, what it contributes to that input's
    gradient, upstream × the local derivative, in the input's shape (summed over the axes that
    broadcasting added; spread over the input for a reduction)."""
    if op.vjp is not None:
        return list(op.vjp(upstream, out, *inputs))
    local = op.local(out, *inputs, **attrs)
    # (a local derivative of exactly 1, as for add and sum, passes the upstream gradient on)
    return [fit(upstream if type(d) is float and d == 1.0 else upstream * d, x)
            for d, x in zip(local, inputs)]


def jvp(op: Op, out: Value, inputs: tuple, tangents: tuple, attrs: dict) -> Value:
    """The output's tangent from the inputs' tangents (forward mode)."""
    if op.jvp is not None:
        return op.jvp(out, *inputs, *tangents)
    local = op.local(out, *inputs, **attrs)
    total = sum(d * t for d, t in zip(local, tangents))
    return as_float(np.sum(total)) if op.reduces else fit(total, out)
