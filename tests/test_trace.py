"""The trace: the forward and backward passes as data, with the arithmetic of every step."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import GRAPHS_CHECKED, expression_graphs
from hypothesis import given, settings

import compgraph as cg


def g4(v: float) -> str:
    """A number as the trace writes it: 4 significant digits."""
    return f"{v:.4g}"


def chain_rule_graph():
    x = cg.Input("x")
    h = cg.power(x, 2, name="h")
    g = cg.sin(h, name="g")
    f = cg.exp(g, name="f")
    return cg.Graph(f)


def colah():
    a, b = cg.Input("a"), cg.Input("b")
    c = cg.add(a, b, name="c")
    d = cg.add(b, 1, name="d")
    return cg.Graph(cg.mul(c, d, name="e"))


def test_forward_step_texts_of_the_chain_rule_example():
    steps = chain_rule_graph().trace(x=0.5).forward_steps
    h, g = 0.25, math.sin(0.25)
    assert [s.text for s in steps] == [
        "x = 0.5",
        "h = x² = 0.5² = 0.25",
        f"g = sin(h) = sin(0.25) = {g4(g)}",
        f"f = e^g = e^{g4(g)} = {g4(math.exp(g))}",
    ]
    assert steps[1].inputs == (("x", 0.5),) and steps[1].value == h


def test_backward_step_texts_of_the_chain_rule_example():
    steps = chain_rule_graph().trace(x=0.5).backward_steps
    h = 0.25
    g = math.sin(h)
    df_dg = math.exp(g)                    # ∂f/∂g = e^g
    df_dh = df_dg * math.cos(h)            # ∂f/∂h = ∂f/∂g · cos h
    df_dx = df_dh * 2 * 0.5                # ∂f/∂x = ∂f/∂h · 2x
    assert [s.text.split("\n")[0] for s in steps] == [
        "∂f/∂f = 1",
        f"∂f/∂g = ∂f/∂f · ∂f/∂g = 1 × {g4(df_dg)} = {g4(df_dg)}",
        f"∂f/∂h = ∂f/∂g · ∂g/∂h = {g4(df_dg)} × {g4(math.cos(h))} = {g4(df_dh)}",
        f"∂f/∂x = ∂f/∂h · ∂h/∂x = {g4(df_dh)} × 1 = {g4(df_dx)}",
    ]
    assert steps[2].text.split("\n")[1] == f"∂g/∂h = cos(h) = {g4(math.cos(h))}"
    assert steps[3].text.split("\n")[1] == "∂h/∂x = 2x = 1"
    assert [s.local_label for s in steps] == ["1", "e^g", "cos(h)", "2x"]
    assert steps[-1].total == pytest.approx(df_dx, rel=1e-14)


def test_colah_trace_sums_the_two_routes_to_b():
    trace = colah().trace(a=2, b=1)
    assert [s.text for s in trace.forward_steps] == [
        "a = 2", "b = 1", "c = a + b = 2 + 1 = 3", "d = b + 1 = 1 + 1 = 2", "e = c·d = 3·2 = 6"]
    into_b = [s for s in trace.backward_steps if s.child.name == "b"]
    assert [s.parent.name for s in into_b] == ["d", "c"]
    assert [s.product for s in into_b] == [3.0, 2.0]   # ∂e/∂d · 1 = c, ∂e/∂c · 1 = d
    assert into_b[0].text == "∂e/∂b = ∂e/∂d · ∂d/∂b = 3 × 1 = 3\n∂d/∂b = 1"
    assert into_b[1].text.startswith("∂e/∂b += ∂e/∂c · ∂c/∂b = 2 × 1 = 2\n")
    assert into_b[1].text.endswith("\nso ∂e/∂b = 3 + 2 = 5")
    assert into_b[1].terms == (3.0, 2.0) and into_b[1].total == 5.0


def test_colah_forward_mode_trace():
    steps = colah().forward_mode_trace("b", a=2, b=1)
    e = steps[-1]
    assert e.node.name == "e" and e.tangent == 5.0
    assert e.text == ("e = c·d = 6\n∂e/∂b = ∂e/∂c · ∂c/∂b + ∂e/∂d · ∂d/∂b = 2 × 1 + 3 × 1 = 5")
    assert [s.tangent for s in steps] == [0.0, 1.0, 1.0, 1.0, 5.0]  # a, b, c, d, e


def _non_const_edges(graph: cg.Graph) -> int:
    return sum(1 for n in graph.ops for c in n.children if c.role != "const")


def test_step_counts_and_indices():
    graph = colah()
    trace = graph.trace(a=2, b=1)
    non_const = [n for n in graph.nodes if n.role != "const"]
    assert len(trace.forward_steps) == len(non_const) == 5
    assert len(trace.backward_steps) == 1 + _non_const_edges(graph) == 1 + 5
    assert [s.index for s in trace] == list(range(len(trace)))
    assert trace[: len(non_const)] == trace.forward_steps  # forward first, then backward
    seed = trace.backward_steps[0]
    assert seed.parent is None and seed.edge is None and seed.child is graph.output
    assert (seed.upstream, seed.local, seed.product, seed.total) == (1.0, 1.0, 1.0, 1.0)


def test_a_plus_a_has_two_edges_with_their_slots():
    a = cg.Input("a")
    trace = cg.Graph(a + a).trace(a=3.0)
    steps = trace.backward_steps[1:]
    assert [s.slot for s in steps] == [0, 1]
    assert [s.total for s in steps] == [1.0, 2.0]
    assert steps[1].text.endswith("so ∂add1/∂a = 1 + 1 = 2")


def _trace_signature(trace):
    return [(s.kind, s.node.name if s.kind == "forward" else
             (s.parent.name if s.parent else None, s.child.name), s.text) for s in trace]


def test_trace_is_identical_for_identical_graphs_and_repeated_calls():
    def build():
        x, y = cg.Input("x"), cg.Input("y")
        w = cg.Param("w", np.array([0.5, -1.0]))
        h = cg.tanh(x * w + y)
        return cg.Graph(cg.sum(h * h + cg.sigmoid(h)))

    one, two = build(), build()
    first = _trace_signature(one.trace(x=np.array([1.0, 2.0]), y=0.3))
    assert first == _trace_signature(two.trace(x=np.array([1.0, 2.0]), y=0.3))
    assert first == _trace_signature(one.trace(x=np.array([1.0, 2.0]), y=0.3))
    assert len(first) == len(one.nodes) + 1 + _non_const_edges(one)  # no const in this graph


def test_array_trace_values_are_snapshots():
    x = cg.Input("x")
    w = cg.Param("w", np.array([1.0, 2.0]))
    graph = cg.Graph(cg.sum(x * w))
    trace = graph.trace(x=np.array([3.0, 4.0]))
    w.value = np.array([10.0, 20.0])
    graph.forward(x=np.array([5.0, 6.0]))
    graph.backward()
    [w_step] = [s for s in trace.forward_steps if s.node is w]
    np.testing.assert_array_equal(w_step.value, [1.0, 2.0])
    [w_grad] = [s for s in trace.backward_steps if s.child is w]
    np.testing.assert_array_equal(w_grad.total, [3.0, 4.0])


@settings(max_examples=150)
@given(expression_graphs(arrays=False, max_steps=6))
def test_trace_arithmetic_on_random_scalar_graphs(gg):
    graph = gg.graph
    trace = graph.trace(**gg.inputs)
    non_const = [n for n in graph.nodes if n.role != "const"]
    assert [s.node for s in trace.forward_steps] == non_const
    for step in trace.forward_steps:
        assert step.value == step.node.value
    backward = trace.backward_steps
    assert len(backward) == 1 + _non_const_edges(graph)
    last_total = {}
    for step in backward[1:]:
        assert step.product == step.upstream * step.local
        scale = max(abs(t) for t in step.terms)
        assert step.total == pytest.approx(math.fsum(step.terms), rel=1e-12, abs=1e-12 * scale)
        assert step.terms[-1] == step.product
        last_total[step.child] = step.total
    grads = graph.backward()
    for node in non_const:
        if node is not graph.output:
            assert last_total[node] == grads[node], node.name
    GRAPHS_CHECKED["trace graphs"] += 1


@settings(max_examples=60)
@given(expression_graphs(arrays=True, max_steps=4))
def test_trace_totals_equal_gradients_on_random_array_graphs(gg):
    graph = gg.graph
    trace = graph.trace(**gg.inputs)
    last_total = {s.child: s.total for s in trace.backward_steps}
    grads = graph.backward()
    for node, total in last_total.items():
        np.testing.assert_array_equal(total, grads[node], err_msg=node.name)
    GRAPHS_CHECKED["trace graphs"] += 1


# --- size: memory linear in the number of steps ------------------------------------------------

def test_a_node_feeding_many_others_keeps_the_trace_linear():
    x = cg.Input("x")
    total = x * 1.0
    n = 2_000
    for _ in range(n - 1):
        total = total + cg.sin(x)
    trace = cg.Graph(total).trace(x=0.5)
    into_x = [s for s in trace.backward_steps if s.child is x]
    assert len(into_x) == n
    # the steps into x share one list of shares instead of each holding a copy of its prefix
    assert all(s.shares is into_x[0].shares for s in into_x)
    assert [s.term_count for s in into_x] == list(range(1, n + 1))
    assert into_x[2].terms == tuple(into_x[0].shares[:3]) and into_x[2].terms[-1] == \
        into_x[2].product
    # the running sum names a few terms and how many more, not all of them
    last = into_x[-1].text.splitlines()[-1]
    assert f"+ … + {n - 4:,} more = " in last and len(last) < 120
    assert max(len(s.text) for s in trace) < 400
    assert into_x[-1].total == pytest.approx(1.0 + (n - 1) * math.cos(0.5), rel=1e-12)


def test_trace_beyond_its_limit_raises_size_error(monkeypatch):
    monkeypatch.setattr(cg.limits, "MAX_TRACE_STEPS", 10)
    x = cg.Input("x")
    h = x
    for _ in range(10):
        h = cg.sin(h)
    with pytest.raises(cg.SizeError, match=r"trace\(\).*22 steps.*limit of 10.*MAX_TRACE_STEPS"):
        cg.Graph(h).trace(x=0.5)
