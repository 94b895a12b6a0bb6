"""Straight-line Python for one graph's forward and backward passes, generated once per set of
input shapes and compiled with exec: one local variable per node, no loop, list or dict lookups
between ops. It computes exactly what the reference loops in graph.py compute (a property test
compares the two bit for bit); when it raises, graph.py re-runs the reference loop to name the
node. `Graph.use_generated_code = False` turns it off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import ops
from .checked import BadTotal, Raising


def small_product(values: list, i: int, where: tuple) -> bool:
    """Whether matmul node i, in the pass of `values`, is an array product of two arrays below
    ops.THREADED_PRODUCT multiply-adds (which ops._product does not check again)."""
    a, b, out = values[where[0]], values[where[1]], values[i]
    return type(a) is np.ndarray and type(b) is np.ndarray and type(out) is np.ndarray \
        and out.size * a.shape[-1] < ops.THREADED_PRODUCT


def small_matrices(values: list, a: int, b: int) -> bool:
    """Whether the products of matmul's backward, for matrices at `a` and `b`, are below
    ops.THREADED_PRODUCT multiply-adds."""
    x0, x1 = values[a], values[b]
    return type(x0) is np.ndarray and type(x1) is np.ndarray and x0.ndim == x1.ndim == 2 \
        and max(x0.size * x1.shape[1], x1.size * x0.shape[0]) < ops.THREADED_PRODUCT


def compile_function(lines: list[str], env: dict[str, Any], name: str) -> Callable[[list], list]:
    """The function `name` defined by `lines`, its body run under RAISE (set directly in
    numpy's context variable where it can be: cheaper than a with statement per pass)."""
    head, body = lines[0], ["  " + line for line in lines[1:]]
    if Raising._var is not None:
        env.update(_errvar=Raising._var, _errstate=Raising._state)
        lines = [head, " _token = _errvar.set(_errstate)", " try:", *body, " finally:",
                 "  _errvar.reset(_token)"]
    else:  # pragma: no cover - numpy < 2
        env.update(Raising=Raising)
        lines = [head, " with Raising():", *body]
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), f"<compgraph generated {name}>", "exec"), env, namespace)
    return namespace[name]


def generate_forward(graph: Any, values: list) -> Callable[[dict], tuple | None]:
    """forward(checked inputs by name) -> (every value, the Params' values used), or None
    when an input's shape or type is not that in `values` (the pass the code is made for).
    Each op's result checked as _run checks it; each input and op node's .value set."""
    env: dict[str, Any] = {"_ndarray": np.ndarray, "_settle": graph._settle}
    n = len(graph.nodes)
    lines = ["def forward(given):"]
    for i, node in graph._input_slots:
        env[f"n{i}"] = node
        v = values[i]
        lines.append(f" v{i} = given[{node.name!r}]")
        if type(v) is float:
            lines.append(f" if type(v{i}) is not float: return None")
        else:
            lines.append(f" if type(v{i}) is not _ndarray or v{i}.shape != {v.shape!r}:"
                         f" return None")
    for i, _ in graph._input_slots:
        lines.append(f" n{i}.value = v{i}")
    for i, node in graph._const_slots + graph._param_slots:
        env[f"n{i}"] = node
        lines.append(f" v{i} = n{i}.value")
    for i, forward, _, _, where in graph._plan:
        if len(where) == 1 and hasattr(forward, "on_array"):  # float or array: known here
            forward = forward.on_float if type(values[where[0]]) is float \
                else forward.on_array
        env[f"f{i}"] = forward
        env[f"n{i}"] = graph.nodes[i]
        if graph.nodes[i].op is ops.OPS.get("matmul") and small_product(values, i, where):
            # numpy's @ itself: the product is too small for other threads (ops._product)
            lines.append(f" v{i} = v{where[0]} @ v{where[1]}")
        else:
            lines.append(f" v{i} = f{i}({', '.join(f'v{j}' for j in where)})")
        # the check for the result's type in the pass the code is made for; _settle does
        # what _run does for any other
        if type(values[i]) is float:
            lines.append(f" if type(v{i}) is not float or v{i} - v{i} != 0.0:"
                         f" v{i} = _settle({i}, v{i})")
        else:
            lines.append(f" if type(v{i}) is not _ndarray: v{i} = _settle({i}, v{i})")
    lines += [f" n{i}.value = v{i}" for i, *_ in graph._plan]
    used = ", ".join(f"(n{i}, v{i})" for i, _ in graph._param_slots)
    lines.append(f" return [{', '.join(f'v{i}' for i in range(n))}], [{used}]")
    return compile_function(lines, env, "forward")


def generate_backward(graph: Any, values: list) -> Callable[[list], list]:
    """backward(values) -> gradients, the same as _run_backward: shares fitted where the
    fitting backward for these shapes found it needed, every float gradient checked before
    it is passed on and every leaf's after, None for gradients left for later."""
    if graph._needs_fit is None:
        raise AssertionError("generated backward needs the fitting pass first")
    env: dict[str, Any] = {"BadTotal": BadTotal, "_fit": ops.fit}
    n = len(graph.nodes)
    lines = ["def backward(v):"]
    lines.append(f" {', '.join(f'v{i}' for i in range(n))}{',' if n == 1 else ''} = v")
    lines.append(f" g{n - 1} = 1.0")
    assigned = {n - 1}

    def add(j: int, share: str) -> None:
        if j in assigned:
            lines.append(f" g{j} = g{j} + {share}")
        else:
            lines.append(f" g{j} = {share}")
            assigned.add(j)

    def check(i: int) -> None:
        lines.append(f" if type(g{i}) is float and g{i} - g{i} != 0.0: raise BadTotal({i})")

    env.update(ops.CODE_NAMES)
    for i, vjp, a, b, want_a, want_b, fit_a, fit_b, where in graph._fast_bplan:
        env[f"b{i}"] = vjp
        if i != n - 1:  # (the output's is 1.0)
            check(i)
        code = graph.nodes[i].op.vjp_code
        if graph.nodes[i].op is ops.OPS.get("matmul") and small_matrices(values, a, b):
            code = ("{g} @ {x1}.T", "{x0}.T @ {g}")  # what ops._product does when small
        if code is not None and not graph.nodes[i].attrs and len(code) == len(where) <= 2:
            # the op's share expressions written out: no call of a vjp wrapper
            names = {"g": f"g{i}", "out": f"v{i}", "x0": f"v{a}", "x1": f"v{b}"}
            for slot, (j, want, fit) in enumerate([(a, want_a, fit_a), (b, want_b, fit_b)]
                                                  [:len(where)]):
                if not want:
                    continue
                share = code[slot]
                if i == n - 1 and share.startswith("{g} * "):
                    share = share[6:]  # the output's gradient is 1.0, and 1.0·x is x
                share = share.format(**names)
                if fit is not None:
                    env[f"fit{i}_{slot}"] = fit
                    share = f"fit{i}_{slot}({share})"
                add(j, share)
        elif b >= 0 or a >= 0:
            names = [f"s{i}_0", f"s{i}_1"][:2 if b >= 0 else 1]
            lines.append(f" {', '.join(names)}{',' if b < 0 else ''} = b{i}(g{i}, v{i}, "
                         f"{', '.join(f'v{j}' for j in where)})")
            for slot, (j, want, fit) in enumerate([(a, want_a, fit_a), (b, want_b, fit_b)]
                                                  [:len(names)]):
                if not want:
                    continue
                share = names[slot]
                if fit is not None:
                    env[f"fit{i}_{slot}"] = fit
                    share = f"fit{i}_{slot}({share})"
                add(j, share)
        else:  # three or more inputs
            lines.append(f" s{i} = b{i}(g{i}, v{i}, {', '.join(f'v{j}' for j in where)})")
            for slot, j in enumerate(where):
                add(j, f"_fit(s{i}[{slot}], v{j})")
    for i in graph._leaf_positions:
        if i in assigned:
            check(i)
    grads = ", ".join(f"g{i}" if i in assigned else "None" for i in range(n))
    lines.append(f" return [{grads}]")
    return compile_function(lines, env, "backward")
