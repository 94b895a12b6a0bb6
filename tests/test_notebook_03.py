"""Notebook 3 (write reverse mode yourself): what its prose states, and the lessons helpers its
exercises rely on.

The notebook checks its formulas itself (nbval runs it). These tests protect the project's own
text: the numbers its solutions and explanations state, the claims about the stored outputs (the
exercises start unanswered, the solutions' check passes), and the helpers' verdicts."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

import compgraph as cg
from compgraph import lessons

ROOT = Path(__file__).resolve().parent.parent
NAME = "03_write_reverse_mode.ipynb"
NOTEBOOK = json.loads((ROOT / "notebooks" / NAME).read_text(encoding="utf-8"))
CELLS = NOTEBOOK["cells"]


def text(cell) -> str:
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def printed(cell) -> str:
    return "".join(text_of(o) for o in cell.get("outputs", []) if o["output_type"] == "stream")


def text_of(output) -> str:
    t = output["text"]
    return t if isinstance(t, str) else "".join(t)


def code_cell(containing: str):
    found = [c for c in CELLS if c["cell_type"] == "code" and containing in text(c)]
    assert len(found) == 1, f"{len(found)} code cells contain {containing!r}"
    return found[0]


def markdown(containing: str) -> str:
    found = [text(c) for c in CELLS if c["cell_type"] == "markdown" and containing in text(c)]
    assert len(found) == 1, f"{len(found)} markdown cells contain {containing!r}"
    return found[0]


def plain(math_text: str) -> str:
    """Markdown with its math markup removed, for finding the numbers a sentence states."""
    return re.sub(r"\\cdot|\\times|[$\\]", " ", math_text)


@pytest.fixture(scope="module")
def engine():
    """The notebook's own engine: the imports, classes and functions its code cells define."""
    namespace: dict = {}
    kept = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    for cell in CELLS[2:]:   # after the set-up cell, which holds IPython's %pip
        if cell["cell_type"] == "code":
            tree = ast.parse(text(cell))
            tree.body = [node for node in tree.body if isinstance(node, kept)]
            exec(compile(tree, "<notebook 3>", "exec"), namespace)
    return namespace


def classic(Value):
    a, b = Value(2.0, name="a"), Value(1.0, name="b")
    c = a + b
    d = b + 1
    e = c * d
    for v, name in ((c, "c"), (d, "d"), (e, "e")):
        v.name = name
    return a, b, c, d, e


# --- the notebook's frame ---------------------------------------------------------------------

def test_links_set_up_and_title():
    assert CELLS[0]["metadata"]["tags"] == ["compgraph-links"]  # (tools/notebook_links.py)
    assert CELLS[1]["metadata"]["tags"] == ["compgraph-setup"]
    assert text(CELLS[2]).startswith("# 3 · ")
    assert ("The spelled-out intro to neural networks and backpropagation: building micrograd"
            in text(CELLS[2]))


def test_stored_outputs_have_no_errors_and_the_exercises_start_unanswered():
    outputs = [o for c in CELLS if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    for marker in ("answer = None", "ok = lessons.check_engine(Value, backward_by_levels)",
                   "check_new_op(Value, div,"):
        assert printed(code_cell(marker)).startswith("✗"), marker
    last_code = [c for c in CELLS if c["cell_type"] == "code"][-1]
    assert "Exercise 3" in text(last_code)
    lines = printed(last_code).strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("✓") for line in lines)


def test_no_check_line_fails_outside_the_exercises():
    exercises = {id(code_cell(m)) for m in ("answer = None", "ok = lessons.check_engine(Value, "
                                             "backward_by_levels)", "check_new_op(Value, div,")}
    for cell in CELLS:
        if cell["cell_type"] == "code" and id(cell) not in exercises:
            assert "✗" not in printed(cell), text(cell)[:60]


# --- numbers the prose states -------------------------------------------------------------------

def test_the_first_try_loses_the_path_through_d(engine):
    a, b, c, d, e = classic(engine["Value"])
    order = [v.name for v in reversed(engine["topological_order"](e))]
    assert order.index("d") < order.index("c")          # "The loop handled d first"
    engine["backward_first_try"](e)
    assert (a.grad, b.grad) == (2.0, 2.0)
    prose = markdown("Whichever contribution arrives last wins")
    assert "3 \\times 1 = 3" in prose and "2 \\times 1 = 2" in prose
    assert "`b.grad` to 3; then $c$'s `=` replaced the 3 by 2" in prose
    shown = printed(code_cell("backward_first_try(e)\n"))
    assert "∂e/∂a = 2 " in shown and "∂e/∂b = 2 " in shown


def test_the_printed_steps_show_b_growing_from_3_to_5():
    shown = printed(code_cell("backward_showing(e)"))
    assert shown.index("∂e/∂b is now 3") < shown.index("∂e/∂b is now 5")
    assert "from 3 to 5" in markdown("Step by step, beside compgraph")


def test_the_stepper_skips_the_edge_into_the_constant():
    a, b = cg.Input("a"), cg.Input("b")
    graph = cg.Graph(cg.mul(cg.add(a, b, name="c"), cg.add(b, 1, name="d"), name="e"))
    steps = graph.trace(a=2.0, b=1.0).backward_steps
    assert not any(s.text.startswith("∂e/∂1") for s in steps)
    assert "skips the edge into the constant 1" in markdown("Step by step, beside compgraph")


def test_the_neuron_stepper_shows_1_minus_o_squared_on_its_first_edge():
    point = {"x1": 1.5, "x2": -0.5, "w1": 0.8, "w2": 1.2, "b": -0.3}
    node = {k: cg.Input(k) for k in point}
    z = cg.add(cg.add(cg.mul(node["w1"], node["x1"]), cg.mul(node["w2"], node["x2"])), node["b"],
               name="z")
    graph = cg.Graph(cg.tanh(z, name="o"))
    first_edge = graph.trace(**point).backward_steps[1]
    assert first_edge.text.startswith("∂o/∂z") and "1−o²" in first_edge.text
    assert "$z \\to o$" in markdown("In the Stepper, watch the first edge")


def test_exercise_1_solution(engine):
    a, b, c, d, e = classic(engine["Value"])
    engine["backward_no_reset"](e)
    assert (a.grad, b.grad, c.grad, d.grad) == (2.0, 5.0, 2.0, 3.0)
    engine["backward_no_reset"](e)
    assert (c.grad, d.grad, b.grad, a.grad) == (4.0, 6.0, 15.0, 6.0)
    prose = plain(markdown("not the $10$"))
    for stated in ("2 + 1 2 = 4", "3 + 1 3 = 6", "5 + 6 + 4 = 15", "2 + 4 = 6", "10"):
        assert stated in re.sub(r"\s+", " ", prose), stated


def test_exercise_2_solution(engine):
    Value = engine["Value"]
    a, b, c, d, e = classic(Value)
    engine["backward_by_levels"](e)
    assert b.grad == 5.0                       # "gets the classic example right"
    assert "gets the classic\nexample right" in markdown("Exercise 2")
    x = Value(0.5, name="x")
    p = x * x
    q = p + 1
    s = p * q
    for v, name in ((p, "p"), (q, "q"), (s, "s")):
        v.name = name
    # the level order, as the solution names it: s, p, q, x (and the constant 1)
    level_order, queue = [s], [s]
    while queue:
        for u in queue.pop(0).inputs:
            if u not in level_order:
                level_order.append(u)
                queue.append(u)
    assert [v.name for v in level_order] == ["s", "p", "q", "x", "1"]
    engine["backward_by_levels"](s)
    assert np.isclose(x.grad, 1.25)
    engine["backward"](s)
    assert np.isclose(x.grad, 1.5) and np.isclose(x.grad, (2 * 0.25 + 1) * 2 * 0.5)
    prose = markdown("Being closer to the output")
    for stated in ("$s, p, q, x$", "$q = 1.25$", "p \\cdot 1 = 0.25", "= 1.25$", "= 1.5$"):
        assert stated in prose, stated


def test_exercise_3_solution():
    a, b = 1.5, 2.0
    assert (a / b, 1 / b, -(a / b) / b) == (0.75, 0.5, -0.375)
    prose = markdown("Holding $b$ fixed")
    assert "$0.75$" in prose and "$0.5$ and $-0.375$" in prose


def test_the_first_try_is_wrong_on_every_random_expression(engine):
    shown = printed(code_cell("first_try_wrong = 0"))
    assert "gives wrong gradients on 36 of the 36" in shown


def test_random_expressions_reuse_values():
    """The prose says: 're-using earlier values so that many have several consumers'."""
    for seed in range(36):
        expr = lessons.random_expression(seed)
        operands = [k for _, *args in expr.steps for k in args]
        assert max(operands.count(k) for k in set(operands)) >= 2


# --- the lessons helpers ------------------------------------------------------------------------

def verdict(call) -> tuple[bool, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = call()
    return result, out.getvalue()


def test_random_expression_is_the_same_every_time_and_uses_every_input():
    for seed in range(50):
        one = lessons.random_expression(seed, unary=("tanh",))
        assert one.steps == lessons.random_expression(seed, unary=("tanh",)).steps
        assert one.point == lessons.random_expression(seed, unary=("tanh",)).point
        used = {k for _, *args in one.steps for k in args}
        assert set(range(one.n_inputs)) <= used
        assert set(range(one.n_inputs + len(one.steps) - 1)) <= used   # nothing left over
        assert str(one).splitlines()[-2].startswith("out = ")


def test_random_expression_builds_the_same_value_everywhere():
    import math
    for seed in range(20):
        expr = lessons.random_expression(seed, unary=("tanh",))
        xs = [cg.Input(f"x{i + 1}") for i in range(expr.n_inputs)]
        graph = cg.Graph(expr(*xs, tanh=cg.tanh))
        value = graph.forward(**{x.name: v for x, v in zip(xs, expr.point)})
        assert np.isclose(value, expr(*expr.point, tanh=math.tanh), rtol=1e-12)
        grads = lessons.compgraph_gradients(expr)
        for x, g in zip(xs, grads):
            assert np.isclose(g, cg.numeric_grad(graph, x, **{y.name: v for y, v in
                                                             zip(xs, expr.point)}), rtol=1e-6,
                              atol=1e-8)


def test_a_missing_one_input_op_is_named():
    expr = next(e for e in (lessons.random_expression(s, unary=("tanh",)) for s in range(20))
                if any(step[0] == "tanh" for step in e.steps))
    with pytest.raises(TypeError, match="tanh"):
        expr(*expr.point)


def test_check_engine_tells_right_from_wrong(engine):
    Value = engine["Value"]
    right, said = verdict(lambda: lessons.check_engine(Value, engine["backward"]))
    assert right and said.startswith("✓")
    for wrong in (engine["backward_first_try"], engine["backward_by_levels"]):
        right, said = verdict(lambda wrong=wrong: lessons.check_engine(Value, wrong))
        assert not right and said.startswith("✗ not right yet") and "out = " in said
    right, said = verdict(lambda: lessons.check_engine(Value, lambda out: 1 / 0))
    assert not right and "ZeroDivisionError" in said
    right, said = verdict(lambda: lessons.check_engine(Value, engine["backward"],
                                                       unary={"tanh": engine["tanh"]}))
    assert right


def test_check_new_op_tells_right_from_wrong(engine):
    Value = engine["Value"]
    points = [(1.5, 2.0), (-0.7, 0.4), (3.0, -1.2)]

    def div(a, b):
        return Value(a.data / b.data, (a, b), (1 / b.data, -a.data / b.data ** 2))

    def wrong_sign(a, b):
        return Value(a.data / b.data, (a, b), (1 / b.data, a.data / b.data ** 2))

    def unfilled(a, b):
        return Value(a.data / b.data, (a, b), (None, None))

    def one_derivative(a, b):
        return Value(a.data / b.data, (a, b), (1 / b.data,))

    right, said = verdict(lambda: lessons.check_new_op(Value, div, "div", points))
    assert right and said.startswith("✓ div")
    right, said = verdict(lambda: lessons.check_new_op(Value, wrong_sign, "div", points))
    assert not right and "input 2" in said and "-0.375" in said
    right, said = verdict(lambda: lessons.check_new_op(Value, unfilled, "div", points))
    assert not right and "None" in said
    right, said = verdict(lambda: lessons.check_new_op(Value, one_derivative, "div", points))
    assert not right and "one local derivative per input" in said
    right, said = verdict(lambda: lessons.check_new_op(Value, engine["tanh"], "tanh",
                                                       [(0.3,), (-1.0,)]))
    assert right and said.startswith("✓ tanh: the value and the local derivative are right")
