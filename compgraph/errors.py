"""The exceptions compgraph raises, and the messages that name the node, the op and the value.

graph.py's loops stay short by handing every failure to one of the functions at the bottom,
which work out what went wrong and say it in words.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .nodes import Node


class CompgraphError(Exception):
    """Base class: catch this to catch every error the package raises on bad input."""


class InputError(CompgraphError, ValueError):
    """A missing, unknown, NaN or infinite input value."""


class InputTypeError(CompgraphError, TypeError):
    """An input that is not a number or an array of numbers."""


class ShapeError(CompgraphError, ValueError):
    """Shapes that an op cannot combine, or a Param given a value of another shape."""


class DomainError(CompgraphError, ValueError):
    """A value outside an op's domain: log of a non-positive number, division by zero, overflow."""


class OrderError(CompgraphError, RuntimeError):
    """Calls made in an order that has no meaning, e.g. backward() before forward()."""


class SizeError(CompgraphError, ValueError):
    """A graph, trace or path list too large for a drawing, a stepping widget or a listing; the
    message gives the numbers and what to do instead (see compgraph.limits)."""


#: Every pass runs under np.errstate(**RAISE): an array op that overflows, divides by zero or
#: makes a NaN raises FloatingPointError at the op that did it. Underflow to 0 is a fine result.
RAISE = {"over": "raise", "divide": "raise", "invalid": "raise", "under": "ignore"}

#: What ops raise on bad values: numpy under RAISE (FloatingPointError), math on floats
#: (OverflowError, ValueError "math domain error"), float division (ZeroDivisionError), and
#: numpy on shapes it cannot combine (ValueError, TypeError).
OP_ERRORS = (ArithmeticError, ValueError, TypeError)


class NotFinite(ArithmeticError):
    """A result that is inf or NaN although no error was raised (plain floats set no flags)."""


def finite(value: Any) -> bool:
    if type(value) is float:
        return math.isfinite(value)
    try:
        return bool(np.all(np.isfinite(value)))
    except TypeError:
        return False


def describe(value: Any) -> str:
    if value is None:
        return "(no value yet)"
    if type(value) is float:
        return f"= {value:.4g}"
    return f"of shape {np.shape(value)}"


def describe_inputs(node: Node, xs: list) -> str:
    return ", ".join(f"{c.name!r} {describe(x)}" for c, x in zip(node.children, xs))


def what_happened(error: Exception) -> str:
    """numpy's or math's complaint in a learner's words."""
    text = str(error) or type(error).__name__
    if isinstance(error, NotFinite):
        return f"it came out as {text}"
    if isinstance(error, OverflowError) or "overflow" in text:
        return "overflow: beyond the largest float, about 1.8e308"
    if isinstance(error, ZeroDivisionError) or "divide by zero" in text:
        return "division by zero"
    if "invalid value" in text or "math domain" in text:
        return "no real value there (NaN)"
    return text


def forward_failed(node: Node, xs: list, error: Exception) -> CompgraphError:
    """The error for an op that raised or gave a non-finite result in a forward pass: its domain
    check says why if it can, else what numpy or math said; always the node, op and inputs."""
    op = node.op
    inputs = f"(inputs {describe_inputs(node, xs)})"
    problem = None
    if op.check is not None:
        with np.errstate(all="ignore"):
            try:
                problem = op.check(*xs, **node.attrs)
            except OP_ERRORS:
                problem = None
    if problem:
        return DomainError(f"{op.name} node {node.name!r}: {problem} {inputs}")
    text = str(error)
    if isinstance(error, (ValueError, TypeError)) and any(
            word in text for word in ("shape", "broadcast", "dimension", "align")):
        return ShapeError(f"{op.name} node {node.name!r}: {text} {inputs}")
    if isinstance(error, (ValueError, TypeError)) and "math domain" not in text:
        return DomainError(f"{op.name} node {node.name!r}: {text} {inputs}")
    return DomainError(f"{op.name} node {node.name!r}: the result is not a finite number "
                       f"({what_happened(error)}) {inputs}")


def _brief(value: Any) -> str:
    if value is None:
        return "?"
    if np.ndim(value) == 0:
        return f"{float(value):.4g}"
    value = np.asarray(value, dtype=float)
    bad = value[~np.isfinite(value)] if value.size else value
    return f"of shape {value.shape}" + (f" (holding {float(bad.flat[0])!r})" if bad.size else "")


def edge_failed(node: Node, xs: list, out: Any, upstream: Any, error: Exception,
                into: Node | None = None, doing: str = "backward through") -> DomainError:
    """The error for a backward step through `node` that raised or gave a non-finite gradient:
    recompute each edge's local derivative and contribution without raising, and name the first
    edge where one of them is not finite."""
    from .ops import vjp  # (ops imports this module)
    edge = ""
    text = str(error)
    if isinstance(error, (ValueError, TypeError)) and any(
            word in text for word in ("shape", "broadcast", "dimension", "align")):
        return ShapeError(f"backward through {node.op.name} node {node.name!r}: {text} (inputs "
                          f"{describe_inputs(node, xs)}; upstream gradient {_brief(upstream)}): "
                          f"a local derivative does not have its input's shape")
    with np.errstate(all="ignore"):
        # numpy's float64 where math.* would raise: an infinite derivative shows as inf
        xs64 = [np.float64(x) if type(x) is float else x for x in xs]
        try:
            locals_ = node.op.local(out, *xs64, **node.attrs) if node.op.local else None
        except OP_ERRORS:
            locals_ = None
        try:
            contributions = vjp(node.op, upstream, out, xs, node.attrs)
        except OP_ERRORS:
            contributions = [math.inf] * len(xs)
        for slot, x in enumerate(node.children):
            edge = (f"{doing} the edge {node.name!r} → {x.name!r} ({node.op.name} node "
                    f"{node.name!r}; inputs {describe_inputs(node, xs)})")
            local = locals_[slot] if locals_ is not None else None
            if local is not None and not finite(local):
                label = node.op.deriv[slot].format(*(c.name for c in node.children),
                                                   out=node.name,
                                                   **{k: f"{v:g}" for k, v in node.attrs.items()})
                return DomainError(f"{edge}: the local derivative ∂{node.name}/∂{x.name} = "
                                   f"{label} is not finite there ({_brief(local)})")
            if not finite(contributions[slot]):
                return DomainError(f"{edge}: upstream gradient {_brief(upstream)} × local "
                                   f"derivative {_brief(local)} overflows")
    reaching = f"{into.name!r}" if into is not None else "an input"
    return DomainError(f"{edge or doing + ' ' + repr(node.name)}: the sum of the "
                       f"gradients reaching {reaching} is not a finite number "
                       f"({what_happened(error)})")
