"""gradcheck, numeric_grad and relative_error themselves: right on known derivatives, and able
to fail: a deliberately wrong derivative in the op table is caught."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from helpers import floats
from hypothesis import given, settings

import compgraph as cg
from compgraph.check import answer_tolerance
from compgraph.ops import OPS


@settings(max_examples=30)
@given(v=floats(-3.0, 3.0))
def test_numeric_grad_of_sin_is_cos(v):
    x = cg.Input("x")
    graph = cg.Graph(cg.sin(x))
    assert cg.numeric_grad(graph, x, x=v) == pytest.approx(math.cos(v), abs=1e-9)


def test_numeric_grad_of_an_array_input_and_a_param():
    x = cg.Input("x")
    w = cg.Param("w", np.array([[1.0, -2.0], [0.5, 3.0]]))
    graph = cg.Graph(cg.sum(x ** 3.0 * w))
    v = np.array([[0.5, 1.5], [2.0, 1.0]])
    np.testing.assert_allclose(cg.numeric_grad(graph, "x", x=v), 3 * v ** 2 * w.value,
                               rtol=1e-7)
    np.testing.assert_allclose(cg.numeric_grad(graph, w, x=v), v ** 3, rtol=1e-7)


def test_numeric_grad_leaves_the_graph_as_it_found_it():
    x = cg.Input("x")
    w = cg.Param("w", np.array([1.0, -2.0]))
    graph = cg.Graph(cg.sum(cg.sin(x * w)))
    v = np.array([0.3, 0.7])
    before = w.value.copy()
    cg.numeric_grad(graph, w, x=v)
    np.testing.assert_array_equal(w.value, before)  # restored exactly, not ± ε
    np.testing.assert_array_equal(x.value, v)
    assert graph.output.value == np.sum(np.sin(v * before))


def test_numeric_grad_errors():
    x = cg.Input("x")
    graph = cg.Graph(cg.sin(x, name="s"))
    with pytest.raises(cg.InputError, match="missing input 'x'"):
        cg.numeric_grad(graph, x)
    with pytest.raises(cg.InputError, match="unknown input 'q'"):
        cg.numeric_grad(graph, x, x=1.0, q=2.0)
    with pytest.raises(cg.CompgraphError, match="'s' is not an Input or a Param"):
        cg.numeric_grad(graph, "s", x=1.0)
    with pytest.raises(cg.CompgraphError, match="scalar output"):
        cg.numeric_grad(cg.Graph(x * 2.0), x, x=np.ones(2))


def test_relative_error_is_relative_for_large_and_absolute_for_tiny_gradients():
    assert cg.relative_error(100.0, 100.1) == pytest.approx(0.1 / 100.1)
    assert cg.relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(
        0.2 / 2.2)
    assert cg.relative_error(0.0, 1e-9) == pytest.approx(1e-3)  # on the floor 1e-6
    assert cg.relative_error(0.0, 1e-9, floor=1e-3) == pytest.approx(1e-6)
    assert cg.relative_error(np.array([]), np.array([])) == 0.0


def test_gradcheck_passes_correct_graphs_and_leaves_them_forwarded():
    x = cg.Input("x")
    f = cg.exp(cg.sin(x ** 2), name="f")
    graph = cg.Graph(f)
    assert cg.gradcheck(graph, x=0.5) < 1e-7
    # afterwards the graph holds the values and gradients at the given inputs
    assert f.value == pytest.approx(math.exp(math.sin(0.25)))
    assert graph.grad(x) == pytest.approx(math.exp(math.sin(0.25)) * math.cos(0.25) * 2 * 0.5)


@pytest.mark.parametrize("build, value", [
    (lambda x: (1.0 - x) + x, 0.3),         # a gradient that cancels to exactly 0
    (lambda x: cg.cos(x), 1e-7),            # a gradient of -1e-7, below the noise floor
    (lambda x: 1e3 + cg.sin(x) * 1e-4, 1.0),
])
def test_gradcheck_does_not_call_rounding_noise_an_error(build, value):
    x = cg.Input("x")
    assert cg.gradcheck(cg.Graph(build(x)), x=value) < 1e-6


def _with_wrong_local(monkeypatch, name, local):
    monkeypatch.setitem(OPS, name, dataclasses.replace(OPS[name], local=local))


@pytest.mark.parametrize("name, wrong", [
    ("sin", lambda out, a: (1.01 * np.cos(a),)),                # off by 1 %
    ("sin", lambda out, a: (-np.cos(a),)),                      # wrong sign
    ("sigmoid", lambda out, a: (out * (1.0 + out),)),           # σ(1+σ) instead of σ(1−σ)
    ("div", lambda out, a, b: (1.0 / b, out / b)),              # lost the minus
    ("mul", lambda out, a, b: (a, b)),                          # swapped partials
])
def test_gradcheck_catches_a_wrong_derivative(monkeypatch, name, wrong):
    x, y = cg.Input("x"), cg.Input("y")
    _with_wrong_local(monkeypatch, name, wrong)
    arity = OPS[name].arity
    node = cg.nodes.apply(name, x, y) if arity == 2 else cg.nodes.apply(name, x * y)
    graph = cg.Graph(cg.sum(node * np.array([1.0, -2.0, 0.5])))
    inputs = {"x": np.array([0.3, 1.1, -0.7]), "y": np.array([1.5, -0.8, 2.0])}
    assert cg.gradcheck(graph, **inputs) > 1e-3
    monkeypatch.undo()
    # the same graph built from the real table passes
    node = cg.nodes.apply(name, x, y) if arity == 2 else cg.nodes.apply(name, x * y)
    assert cg.gradcheck(cg.Graph(cg.sum(node * np.array([1.0, -2.0, 0.5]))), **inputs) < 1e-6


def test_gradcheck_catches_a_wrong_matmul_vjp(monkeypatch):
    wrong = dataclasses.replace(OPS["matmul"], vjp=lambda g, out, a, b: (g @ b, a.T @ g))
    monkeypatch.setitem(OPS, "matmul", wrong)
    A = cg.Input("A")
    W = cg.Param("W", np.arange(9.0).reshape(3, 3) / 10)
    graph = cg.Graph(cg.sum(cg.matmul(A, W) ** 2))
    assert cg.gradcheck(graph, A=np.eye(3) + 0.5) > 1e-3


def test_the_table_is_restored_after_monkeypatching():
    x = cg.Input("x")
    assert cg.gradcheck(cg.Graph(cg.sin(x) * cg.sigmoid(x) / (2.0 + x)), x=0.4) < 1e-7


def test_a_learners_new_op_is_checked_by_gradcheck():
    before = set(OPS)
    try:
        softplus = cg.new_op("softplus_test", lambda x: np.log1p(np.exp(x)),
                             lambda out, x: (1.0 / (1.0 + np.exp(-x)),), deriv=("σ({0})",))
        x = cg.Input("x")
        assert cg.gradcheck(cg.Graph(softplus(x)), x=0.3) < 1e-7
        wrong = cg.new_op("softplus_wrong_test", lambda x: np.log1p(np.exp(x)),
                          lambda out, x: (np.exp(x),))
        assert cg.gradcheck(cg.Graph(wrong(x)), x=0.3) > 1e-2
    finally:
        for name in set(OPS) - before:
            del OPS[name]
    assert set(OPS) == before


def test_check_answer(capsys):
    assert cg.check_answer(5.0, 5.0, what="∂e/∂b")
    assert "✓ ∂e/∂b" in capsys.readouterr().out
    assert not cg.check_answer(4.0, 5.0, what="∂e/∂b")
    assert "✗ ∂e/∂b" in capsys.readouterr().out
    assert not cg.check_answer(np.ones(3), np.ones((3, 1)))
    assert "shape (3,)" in capsys.readouterr().out
    assert not cg.check_answer("five", 5.0)


def _counting(graph, monkeypatch):
    calls = {"forward": 0, "backward": 0}
    for name in calls:
        method = getattr(graph, name)

        def counted(*args, _method=method, _name=name, **kwargs):
            calls[_name] += 1
            return _method(*args, **kwargs)
        monkeypatch.setattr(graph, name, counted)
    return calls


def test_gradcheck_runs_one_pass_then_two_evaluations_per_element(monkeypatch):
    # cost linear in the number of elements: one forward and one backward in all, then for each
    # perturbed element two forward evaluations that leave the graph's own pass alone
    xs = [cg.Input(f"x{i}") for i in range(20)]
    w = cg.Param("w", np.linspace(-1.0, 1.0, 5))
    total = cg.sum(cg.sin(w))
    for x in xs:
        total = total + x * x
    graph = cg.Graph(total)
    calls = _counting(graph, monkeypatch)
    evaluations = []
    evaluate = graph.evaluate
    monkeypatch.setattr(graph, "evaluate", lambda leaves: (evaluations.append(1),
                                                           evaluate(leaves))[1])
    values = {f"x{i}": 0.01 * i for i in range(20)}
    assert cg.gradcheck(graph, **values) < 1e-6
    assert calls == {"forward": 1, "backward": 1}
    assert len(evaluations) == 1 + 2 * (20 + 5)  # forward() evaluates once too
    assert graph.grad(w) == pytest.approx(np.cos(w.value))
    assert graph.value("x3") == 0.03  # the pass at `values`, not a nudged one


def test_numeric_grad_of_an_array_leaves_the_array_and_the_pass_alone():
    x = cg.Input("x")
    graph = cg.Graph(cg.sum(cg.sin(x) * x))
    v = np.linspace(0.0, 1.0, 7)
    kept = v.copy()
    numeric = cg.numeric_grad(graph, x, x=v)
    np.testing.assert_allclose(numeric, np.cos(v) * v + np.sin(v), rtol=1e-7)
    np.testing.assert_array_equal(v, kept)
    np.testing.assert_array_equal(graph.value(x), kept)


def test_check_answer_accepts_a_hand_worked_answer_to_three_significant_digits(capsys):
    true = -0.128347                      # d/dx sin(e^x) at x = 0.5
    for close in (-0.128, -0.1283, -0.1285, -0.12835):
        assert cg.check_answer(close, true, what="d/dx"), close
    assert "(to more digits: -0.128347)" in capsys.readouterr().out
    for off in (-0.13, -0.126, 0.128347, -1.28347):
        assert not cg.check_answer(off, true, what="d/dx"), off
    assert "3 significant digits are needed, so within 0.001" in capsys.readouterr().out
    assert answer_tolerance(187.5) == 1.0 and answer_tolerance(2.331873) == 0.01
    assert cg.check_answer(-0.1283, true, digits=4) and not cg.check_answer(-0.128, true, digits=4)


def test_check_answer_wants_whole_numbers_exactly_and_arrays_by_their_largest_entry(capsys):
    assert cg.check_answer(21, 21.0) and not cg.check_answer(21.01, 21.0)
    assert "a whole number must be exact" in capsys.readouterr().out
    expected = np.array([[0.01904, 0.01261], [0.022, 0.01651], [0.03385, 0.02569]])
    assert cg.check_answer(np.round(expected, 4), expected)   # 0.0339: 3 digits of the largest
    wrong = expected.copy()
    wrong[0, 0] = 0.0166                                              # one entry off
    assert not cg.check_answer(wrong, expected)
    assert cg.check_answer(expected * (1 + 1e-8), expected, rtol=1e-6)
    assert not cg.check_answer(np.round(expected, 4), expected, rtol=1e-6)
