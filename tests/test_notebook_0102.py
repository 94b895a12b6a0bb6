"""Notebooks 1 and 2: what their prose states, checked against the package.

The notebooks keep one short check per formula, the one a learner learns from. The checks that
protect the notebooks' own text live here: the numbers written in the folded solutions, the step
numbers and counts the prose points at, the words it uses, cross-references to other notebooks,
and that the stored exercise cells do not give their answers away.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import compgraph as cg
from compgraph import lessons

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NB1 = NOTEBOOKS / "01_chain_rule.ipynb"
NB2 = NOTEBOOKS / "02_computational_graphs.ipynb"


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def prose(path: Path) -> str:
    return "\n".join(source(c) for c in cells(path) if c["cell_type"] == "markdown")


def printed(cell: dict) -> str:
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream")


def solution(path: Path, title: str) -> str:
    """The folded solution that follows the exercise whose heading contains `title`."""
    found = False
    for cell in cells(path):
        text = source(cell)
        if cell["cell_type"] == "markdown" and text.startswith("### Exercise") and title in text:
            found = True
        elif found and cell["cell_type"] == "markdown" and "<summary>Solution" in text:
            return text
    raise AssertionError(f"no solution after the exercise {title!r} in {path.name}")


def assert_states(text: str, written: str, value: float) -> None:
    """`written` appears in `text` and is `value` rounded to the digits shown."""
    assert written in text, written
    decimals = len(written.split(".")[1]) if "." in written else 0
    assert round(float(value), decimals) == float(written), (written, value)


# --- one name per idea ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", [NB1, NB2], ids=["01", "02"])
def test_one_name_per_idea(path):
    text = "\n".join(source(c) for c in cells(path)[2:])
    for banned in ("link derivative", "connection derivative", "edge derivative", "edge label",
                   "accumulated derivative at"):
        assert banned not in text, banned
    # the trace's edge fields are read through text and numbers, not by their (old) names
    assert not re.search(r"\.(parent|child)\b", text)
    assert not re.search(r"\bshares?\b", text), "say 'contribution', not 'share'"
    assert not re.search(r"\btangent", prose(NB1)), "tangents belong to forward mode (notebook 2)"


def test_notebook_2_defines_each_term_once():
    text = prose(NB2)
    assert text.count("which we call the node's **gradient**") == 1
    for term in ("**local derivative**", "**upstream gradient**", "**contribution**",
                 "**tangent**", "**Jacobian–vector product (JVP)**",
                 "**vector–Jacobian product (VJP)**", "**consumer**"):
        assert term in text, term


# --- cross-references -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", [NB1, NB2], ids=["01", "02"])
def test_references_to_other_notebooks_exist(path):
    for number in sorted(set(re.findall(r"[Nn]otebook (\d)", prose(path)))):
        found = list(NOTEBOOKS.glob(f"{int(number):02d}_*.ipynb"))
        if not found and number == "3":
            pytest.skip("notebook 3 (writing reverse mode) is not in this checkout yet")
        assert found, f"{path.name} points at notebook {number}, which does not exist"


def test_the_learning_rate_of_notebook_5_is_the_one_notebook_2_explains():
    text = prose(NB2)
    assert "notebook 5" in text and r"x \in \mathbb R^{100}" in text and r"\eta = 0.005" in text
    five = "\n".join(source(c) for c in cells(next(NOTEBOOKS.glob("05_*.ipynb"))))
    assert "n, n_h, k = 100" in five and "eta = 0.005" in five


# --- numbers the solutions state ------------------------------------------------------------------

def test_solutions_of_notebook_1():
    one = solution(NB1, "another chain")
    for written, value in [("1.648721", np.exp(0.5)), ("-0.077846", np.cos(np.exp(0.5))),
                           ("-0.128347", np.cos(np.exp(0.5)) * np.exp(0.5))]:
        assert_states(one, written, value)
    f_prime = lambda x: np.exp(np.sin(x ** 2)) * np.cos(x ** 2) * 2 * x  # noqa: E731
    assert_states(solution(NB1, "predict"), "-2.3319", f_prime(-0.8))
    assert_states(prose(NB1), "2.3319", f_prime(0.8))
    three = solution(NB1, "build a chain")
    assert_states(three, "15.625", 2.5 ** 3)
    assert_states(three, "187.5", 12 * (3 * 0.5 + 1) ** 3)
    four = solution(NB1, "two routes")
    for written, value in [("0.841471", np.sin(1)), ("0.540302", np.cos(1)),
                           ("1.381773", np.sin(1) + np.cos(1))]:
        assert_states(four, written, value)


def test_solutions_of_notebook_2():
    x, y = cg.Input("x"), cg.Input("y")
    ex1 = cg.Graph(cg.mul(cg.add(x, y, name="u"), cg.mul(x, y, name="v"), name="s"))
    ex1.forward(x=2, y=3)
    ex1.backward()
    assert sorted(p.product for p in ex1.paths("x")) == [6, 15] and ex1.grad("x") == 21
    assert "= 6$" in solution(NB2, "sum over paths") and "Sum: $21$" in solution(NB2, "sum over")
    tangent = {n.name: t for n, t in ex1.forward_mode("y", x=2, y=3).items()}
    assert [tangent["u"], tangent["v"], tangent["s"]] == [1, 2, 16]
    assert "answer = [1, 2, 16]" in solution(NB2, "forward mode by hand")

    x, y = cg.Input("x"), cg.Input("y")
    p = cg.mul(x, y, name="p")
    ex2 = cg.Graph(cg.mul(cg.add(p, x, name="q"), p, name="r"))
    ex2.forward(x=2, y=3)
    ex2.backward()
    assert sorted(q.product for q in ex2.paths("p")) == [6, 8] and ex2.grad("p") == 14
    assert "8 + 6 = 14" in solution(NB2, "local derivative or gradient")

    a, b = cg.Input("a"), cg.Input("b")
    length = cg.Graph(cg.power(a * a + b * b, 0.5))
    length.forward(a=3.0, b=4.0)
    length.backward()
    assert np.allclose([length.grad("a"), length.grad("b")], [0.6, 0.8])
    assert "$0.6$ and $0.8$" in solution(NB2, "a new operation")

    xk, wk, bk = cg.Input("x"), cg.Input("w"), cg.Input("b")
    kinked = cg.Graph(cg.relu(xk * wk - bk))
    assert np.isclose(cg.numeric_grad(kinked, "x", x=2.0, w=1.5, b=3.0), 0.75)
    assert cg.gradcheck(kinked, x=2.0, w=1.5, b=3.0) > 0.5
    assert cg.gradcheck(kinked, x=2.0, w=1.5, b=2.5) < 1e-6
    kink = solution(NB2, "gradcheck at a kink")
    assert "= 0.75$" in kink and '"b": 2.5' in kink


# --- steps and counts the prose points at ---------------------------------------------------------

def classic() -> cg.Graph:
    a, b = cg.Input("a"), cg.Input("b")
    return cg.Graph(cg.mul(cg.add(a, b, name="c"), cg.add(b, 1, name="d"), name="e"))


def test_the_steps_notebook_2_names():
    x = cg.Input("x")
    chain = cg.Graph(cg.exp(cg.sin(cg.square(x, name="h"), name="g"), name="f"))
    steps = chain.trace(x=0.8)
    assert steps[6].text.startswith("∂f/∂h = ∂f/∂g × local cos(h)")
    text = " ".join(prose(NB2).split())
    assert "Step 6 is the backward step across the edge $h \\to g$" in text
    trace = classic().trace(a=2, b=1)
    assert trace[8].text.startswith("∂e/∂b (so far) = ∂e/∂d × local 1")
    assert trace[10].text.startswith("∂e/∂b += ∂e/∂c × local 1") and trace[10].total == 5
    assert "The first (step 8)" in text and "The second (step 10)" in text
    # "the constant 1 gets no step and no gradient"
    assert not any("∂e/∂1" in s.text for s in trace)
    assert len(trace.backward_steps) == 6   # the seed and five edges: the constant's is not walked


def test_the_counts_notebook_2_states():
    text = " ".join(prose(NB2).split())
    assert "$2^k$ paths" in text and "$4k$" in text
    assert "$3n - 1$ operations and $5n - 2$ edges" in text and "$8n - 3$" in text
    for n in range(5, 31):   # "about 2.7 evaluations, whatever n is"
        assert 2.6 < (8 * n - 3) / (3 * n - 1) < 2.75
    # a path of k diamonds crosses 2 edges per stage; the factored form has k sums
    assert "$1024$ products of $20$ factors against $10$ sums and $9$ multiplications" in text
    # "with η = 0.1 each step multiplies the error by about −9, with η = 0.005 by about 0.5"
    assert "about $-9$" in text and "about $0.5$" in text
    assert np.isclose(1 - 0.1 * 100, -9) and np.isclose(1 - 0.005 * 100, 0.5)


def test_the_path_explorer_view_notebook_2_describes():
    explorer = cg.PathExplorer(classic(), "b", rankdir="BT", a=2, b=1)
    assert explorer.position_text == "all 2 paths"   # its still picture, the sum of both
    assert '"all 2 paths" shows the sum' in prose(NB2)


def test_the_path_explorer_fallback_counts_paths():
    explorer = cg.PathExplorer(classic(), "b", rankdir="BT", a=2, b=1)
    data, _ = explorer._repr_mimebundle_()
    assert "3 paths" not in data["text/plain"] + data.get("text/html", "")


# --- the stored notebooks -------------------------------------------------------------------------

@pytest.mark.parametrize("path", [NB1, NB2], ids=["01", "02"])
def test_exercises_are_stored_unanswered_and_the_last_cell_checks_the_solutions(path):
    code = [c for c in cells(path) if c["cell_type"] == "code"]
    exercises = [c for c in code if "replace" in source(c) or "def slope_" in source(c)]
    assert len(exercises) >= 6
    for cell in exercises:
        out = printed(cell)
        assert "✗" in out and "✓" not in out, source(cell)[:60]
    last = code[-1]
    assert last["metadata"].get("jupyter", {}).get("source_hidden") is True
    assert "assert all(checks)" in source(last)
    assert "✗" not in printed(last) and printed(last).count("✓") >= 6


def test_the_exercise_checkers():
    f = lambda x, y: x * y + np.sin(y)  # noqa: E731
    points = [{"x": 1.0, "y": 2.0}, {"x": -0.5, "y": 0.3}]
    assert lessons.check_derivative(lambda x, y: (y, x + np.cos(y)), f, points)
    assert not lessons.check_derivative(lambda x, y: (y, x), f, points)
    assert not lessons.check_derivative(lambda x, y: None, f, points)
    assert not lessons.check_derivative(lambda x, y: 1.0, f, points)
    assert lessons.check_derivative(lambda x: np.cos(x), lambda x: np.sin(x), np.linspace(-2, 2, 9))
    x, y = cg.Input("x"), cg.Input("y")
    assert lessons.check_graph(cg.Graph(x * y + cg.sin(y)), f, points)
    assert not lessons.check_graph(cg.Graph(x * y + cg.sin(x)), f, points)
    assert not lessons.check_graph(None, f, points)
    assert not lessons.check_graph(x * y, f, points)
    assert not lessons.check_graph(cg.Graph(x * cg.Input("z")), f, points)
