"""Checking gradients against central differences, and checking a learner's answers."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .errors import CompgraphError, InputError
from .graph import MISSING, Graph
from .nodes import PARAM, Node
from .ops import Value


def numeric_grad(graph: Graph, wrt: Node | str = MISSING, *, eps: float = 1e-6,
                 **inputs: Any) -> Value:
    """∂output/∂wrt by central differences, (f(v+ε) − f(v−ε)) / 2ε, element by element.
    `wrt` is an Input or a Param. The graph is left holding the pass at `inputs`, and its
    gradients too if it had some (so grad() keeps working after a check)."""
    leaf = graph.node(wrt, "numeric_grad(graph, wrt)")
    if leaf.op is not None or leaf.role not in ("input", PARAM):
        raise CompgraphError(f"numeric_grad: {leaf.name!r} is not an Input or a Param")
    _check_eps(eps)
    had_grads = graph.grads is not None
    _scalar_pass(graph, inputs, "numeric_grad")
    grad = _central_differences(graph, leaf, eps)
    if had_grads:
        graph.backward()
    return grad


def _check_eps(eps: Any) -> None:
    if not isinstance(eps, numbers.Real) or isinstance(eps, bool) or not 0 < eps < 1:
        raise InputError(f"eps is the step of the central difference, a small positive number "
                         f"such as 1e-6; got {eps!r}")


def _scalar_pass(graph: Graph, inputs: dict, caller: str) -> float:
    result = graph.forward(**inputs)
    if type(result) is not float:
        raise CompgraphError(f"{caller} needs a scalar output; "
                             f"{graph.output.name!r} has shape {np.shape(result)}")
    return result


def _central_differences(graph: Graph, leaf: Node, eps: float) -> Value:
    """From the graph's last pass: the forward pass re-run (graph.evaluate) with one element of
    the leaf nudged by ±ε at a time; the graph's own pass is left alone."""
    leaves = {node: graph.value(node) for node in graph.leaves}

    def output_at(v: Value) -> float:
        return graph.evaluate({**leaves, leaf: v})[-1]

    original = leaves[leaf]
    if type(original) is float:
        return (output_at(original + eps) - output_at(original - eps)) / (2 * eps)
    work = original.copy()
    grad = np.zeros_like(original)
    flat, out = work.reshape(-1), grad.reshape(-1)  # views: set one element at a time
    for k in range(flat.size):
        kept = flat[k]
        flat[k] += eps
        up = output_at(work)
        flat[k] -= 2 * eps
        down = output_at(work)
        flat[k] = kept
        out[k] = (up - down) / (2 * eps)
    return grad


def relative_error(analytic: Value, numeric: Value, floor: float = 1e-6) -> float:
    """max |a − n| / max(|a|, |n|, floor): relative where gradients are large, absolute (scaled by
    `floor`) where both are tiny, so rounding noise on zero gradients is not called an error."""
    a, n = np.asarray(analytic, dtype=float), np.asarray(numeric, dtype=float)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)
    return float(np.max(np.abs(a - n) / scale)) if a.size else 0.0


def gradcheck(graph: Graph, *positional: Any, eps: float = 1e-6, **inputs: Any) -> float:
    """The largest relative error between backward() and central differences, over every element
    of every input and parameter. Below ~1e-6 means the gradients agree. Costs two runs of the
    ops below each perturbed element, per element: linear in the number of elements for a graph
    of fixed size. Leaves the graph holding the values and gradients at `inputs`."""
    if positional:
        named = ", ".join(f"{n}=..." for n in graph.inputs) or "x=..."
        raise InputError(f"gradcheck takes the inputs by name, as in gradcheck(graph, {named}); "
                         f"got {positional[0]!r} without a name")
    _check_eps(eps)
    out = _scalar_pass(graph, inputs, "gradcheck")
    analytic = graph.backward()
    # A difference quotient carries rounding noise of about |f|·1e-16/ε (1e-10 for |f| ≈ 1 and
    # ε = 1e-6). Gradients below 1e7 times that are compared absolutely on that scale, so the
    # noise on a (near) zero gradient reads as ~1e-7, not as an error of 1e-4 (cos at x = 1e-7).
    floor = max(1e-6, 1e-9 * max(1.0, abs(float(out))) / eps)
    worst = 0.0
    for leaf in [*graph.inputs.values(), *graph.params]:
        numeric = _central_differences(graph, leaf, eps)
        worst = max(worst, relative_error(analytic[leaf], numeric, floor))
    return worst


#: Hand-worked answers need this many significant digits (of the largest entry, for arrays).
ANSWER_DIGITS = 3


def answer_tolerance(expected: Any, digits: int = ANSWER_DIGITS) -> float:
    """One unit in the `digits`-th significant digit of the largest entry of `expected`:
    −0.128347 with 3 digits gives 0.001, so −0.128 and −0.1285 pass and −0.13 does not.
    A whole-number answer (a count, or a derivative such as 5) must be exact."""
    e = np.abs(np.asarray(expected, dtype=float))
    largest = float(np.max(e)) if e.size else 0.0
    if largest == 0.0 or np.all(e == np.round(e)):
        return 1e-9 * max(1.0, largest)
    return 10.0 ** (np.floor(np.log10(largest)) - digits + 1)


def check_answer(answer: Any, expected: Any, *, what: str = "your answer",
                 digits: int = ANSWER_DIGITS, rtol: float | None = None) -> bool:
    """For exercises: compare a learner's number or array with the package's, and say why not.

    An answer worked out by hand passes when it is right to `digits` significant digits (see
    answer_tolerance); whole-number answers must be exact. Code that computes its answer can ask
    for more with `rtol` (a relative tolerance, as numpy.allclose)."""
    if answer is None:
        print(f"✗ {what}: no answer yet (replace None with your value)")
        return False
    try:
        a = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        print(f"✗ {what}: expected a number or an array, got {answer!r}")
        return False
    e = np.asarray(expected, dtype=float)
    if a.shape != e.shape:
        print(f"✗ {what}: shape {a.shape}, expected shape {e.shape}")
        return False
    more = ""   # on success, the value to more digits than a rounded answer showed
    if rtol is not None:
        right = bool(np.allclose(a, e, rtol=rtol, atol=1e-9))
        need = f"a relative error below {rtol:g} is needed"
    else:
        tol = answer_tolerance(e, digits)
        right = bool(np.all(np.abs(a - e) <= tol * (1 + 1e-9)))
        if tol < 1e-6:
            need = "a whole number must be exact"
        else:
            need = f"{digits} significant digits are needed, so within {tol:g}"
            more = f" (to more digits: {float(e):.6g})" if e.ndim == 0 else ""
    if right:
        print(f"✓ {what} is right{more}")
        return True
    print(f"✗ {what} is not right yet: off by {float(np.max(np.abs(a - e))):.2g} ({need})")
    return False
