"""The exceptions compgraph raises. Every message names the node, the op and the offending value."""

from __future__ import annotations


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
