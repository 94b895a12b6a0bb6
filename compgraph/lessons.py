"""Small helpers the lesson notebooks call, so that their cells show the idea and not the plumbing.

    from compgraph import lessons
    lessons.check_local_derivatives("softplus", forward, local, deriv=("σ({0})",), x=points)
    lessons.check_gradients(my_backprop(X, y, θ1, θ2), net.graph, ["θ1", "θ2"], X=X, y=y)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .check import gradcheck, numeric_grad, relative_error
from .functions import new_op
from .functions import sum as total
from .graph import Graph, Input

#: Below this relative error a gradient counts as agreeing with central differences.
AGREES = 1e-6


def check_local_derivatives(name: str, forward: Callable[..., Any], local: Callable[..., Any], *,
                            deriv: tuple[str, ...], **points: Any) -> bool:
    """An exercise check for a new op: register `forward` with the learner's `local`
    derivatives, build Σ op(inputs) on the given input arrays, and compare backward() with central
    differences (gradcheck). Prints one line saying whether the derivatives are right."""
    given = local(None, *points.values())
    if given is None:
        print(f"✗ the local derivatives of {name} are not right yet (they return None)")
        return False
    if not isinstance(given, tuple) or len(given) != len(points):
        print(f"✗ {name} has {len(points)} input(s): return a tuple of {len(points)} local "
              f"derivatives, one per input (got {given!r})")
        return False
    op = new_op(name, forward, local, deriv=deriv)
    graph = Graph(total(op(*(Input(p) for p in points), name=name)))
    error = gradcheck(graph, **points)
    right = error < AGREES
    print(f"✓ the local derivatives of {name} are right (gradcheck: {error:.1g})" if right else
          f"✗ the local derivatives of {name} are not right yet "
          f"(gradcheck: relative error {error:.2g})")
    return right


def check_gradients(gradients: Sequence[Any], graph: Graph, params: Sequence[str],
                    **inputs: Any) -> bool:
    """Compare hand-computed gradients, one per Param named in `params`, with central differences
    of `graph` at `inputs`. Prints one line per parameter, so a wrong factor shows where it is."""
    right = True
    for name, grad in zip(params, gradients):
        numeric = numeric_grad(graph, name, **inputs)
        if np.shape(grad) != np.shape(numeric):
            print(f"✗ ∂/∂{name}: shape {np.shape(grad)}, but {name} is "
                  f"{'×'.join(map(str, np.shape(numeric)))}")
            right = False
            continue
        error = relative_error(grad, numeric)
        ok = error < AGREES
        right = right and ok
        print(f"{'✓' if ok else '✗'} ∂/∂{name}: relative error {error:.2g} against central "
              f"differences" + ("" if ok else "  ← a factor on the way to here is wrong"))
    return right
