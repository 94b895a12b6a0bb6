"""Notebooks 4 (a network as a graph) and 5 (backpropagation from the chain rule), and the table of
symbols: the checks that protect their text rather than teach. Every fact the prose states is
recomputed here with the package (so a change of the engine or of a seed that makes a sentence
wrong fails here, not silently in a notebook); the words and layer names follow the course's one
name per idea; the stored exercise cells show "no answer yet" and each notebook's last cell, which
runs the solutions, passes. Also the helpers these notebooks added to compgraph.nn and lessons."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

import compgraph as cg
from compgraph import lessons
from compgraph.ops import OPS

ROOT = Path(__file__).resolve().parent.parent
NB4 = ROOT / "notebooks" / "04_network_as_graph.ipynb"
NB5 = ROOT / "notebooks" / "05_backprop_from_chain_rule.ipynb"
NOTATION = ROOT / "notebooks" / "NOTATION.md"


def cells(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


def markdown(path: Path) -> str:
    return "\n".join(c.source for c in cells(path)[2:] if c.cell_type == "markdown")


def sources(path: Path) -> str:
    return "\n".join(c.source for c in cells(path)[2:])   # cells 0 and 1 are generated


def stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream")


def section(path: Path, heading: str, until: str | None = None) -> str:
    """The sources of the cells from the markdown cell that starts with `heading` up to the one
    that starts with `until` (or the end)."""
    out, inside = [], False
    for c in cells(path):
        if c.cell_type == "markdown" and c.source.startswith(heading):
            inside = True
        elif until and c.cell_type == "markdown" and c.source.startswith(until):
            inside = False
        if inside:
            out.append(c.source)
    assert out, f"no section {heading!r} in {path.name}"
    return "\n".join(out)


# --- words, names and numbers ------------------------------------------------------------------

FORBIDDEN = ["connection derivative", "link derivative", "edge derivative", "edge label",
             "six notebooks", "notebook 0"]


@pytest.mark.parametrize("path", [NB4, NB5, NOTATION], ids=lambda p: p.name)
def test_one_name_per_idea(path):
    text = (NOTATION.read_text() if path == NOTATION else sources(path)).lower()
    for phrase in FORBIDDEN:
        assert phrase not in text, f"{path.name} says {phrase!r}"
    assert not re.search(r"\bshares?\b", text), f"{path.name}: say 'contribution', not 'share'"


def test_titles_and_cross_references_follow_the_new_numbering():
    assert markdown(NB4).startswith("# 4 · ")
    assert markdown(NB5).startswith("# 5 · ")
    text4, text5 = (" ".join(markdown(path).split()) for path in (NB4, NB5))
    assert "notebook 5 is about it" in text4 and "Next, notebook 5" in text4
    assert "notebook 3 you wrote the backward loop" in text4
    assert text5.startswith("# 5 · Backpropagation from the chain rule Notebook 4 turned")
    assert "backward loop of notebook 3" in text5
    assert "Notebook 6 trains the sigmoid network on XOR" in text5
    assert "patterns of backward flow in notebook 2" in text5
    assert "seven notebooks" in NOTATION.read_text()


def test_the_relu_network_never_calls_its_layers_L1_L2():
    for text in (section(NB4, "## 7 ·", "## Summary"), section(NB5, "## 11 ·", "## 12 ·"),
                 section(NB5, "## 12 ·", "## Summary")):
        assert not re.search(r"\bL_?[12]\b", text), "the ReLU network's layers are h and f"


def test_deltas_are_numbered_one_way():
    for path in (NB4, NB5):
        code = "\n".join(c.source for c in cells(path) if c.cell_type == "code")
        assert not re.search(r"\bd[123]\b", code), f"{path.name}: deltas are delta_l / δ_l"
    assert "\\delta_f" in markdown(NB5) and "\\delta_h" in markdown(NB5)


def test_the_row_and_column_convention_is_stated_once():
    assert markdown(NB4).count("Rows and columns, once for the whole course") == 1
    assert "Rows and columns, once" not in markdown(NB5)


def test_the_table_of_symbols_has_the_new_symbols():
    text = NOTATION.read_text()
    for symbol in ["VJP", "JVP", "upstream gradient", "contribution", "consumer", "tangent",
                   r"\delta_f", r"\delta_h", r"W_l", r"b_l", r"\delta_L", "[I 0]",
                   "log((1−L3)/L3)/m", r"p - y", r"G_{z_3}", r"\eta", "never called $L_1$"]:
        assert symbol in text, symbol


# --- the stored outputs --------------------------------------------------------------------------

@pytest.mark.parametrize("path", [NB4, NB5], ids=lambda p: p.name)
def test_stored_outputs_have_no_errors_and_few_check_marks(path):
    everything = cells(path)
    for c in everything:
        assert all(o.get("output_type") != "error" for o in c.get("outputs", [])), c.source[:60]
    start = next(i for i, c in enumerate(everything) if c.source.startswith("## Exercises"))
    teaching = "".join(stdout(c) for c in everything[:start])
    # ✓ lines belong to the exercise checks, not to the lesson's cells
    assert "✓" not in teaching and "✗" not in teaching


@pytest.mark.parametrize("path, checks", [(NB4, 9), (NB5, 13)], ids=["04", "05"])
def test_exercises_wait_for_answers_and_the_solutions_pass(path, checks):
    code = [c for c in cells(path) if c.cell_type == "code"]
    exercises = [c for c in code if re.search(r"= None +# replace", c.source)
                 or "return None   # replace" in c.source]
    assert exercises
    for c in exercises:
        assert "no answer yet" in stdout(c) or "they return None" in stdout(c), c.source[:80]
    last = stdout(code[-1]).strip().splitlines()
    assert len(last) == checks and all(line.startswith("✓") for line in last), last
    assert "Checking the solutions" in cells(path)[-2].source


# --- notebook 4: the facts its prose states ------------------------------------------------------

@pytest.fixture(scope="module")
def net4():
    net = cg.nn.sigmoid_net(seed=0)
    net.graph.forward(X=np.array([[1.0, 0.0]]), y=np.array([[1.0]]))
    net.graph.backward()
    return net


def test_append_one_and_the_target_edge_labels_say_what_the_text_says(net4):
    g = net4.graph
    assert OPS["append_one"].deriv == ("[I 0]",)
    assert OPS["bce"].deriv == ("({0}−{1})/(m·{0}(1−{0}))", "log((1−{0})/{0})/m")
    np.testing.assert_array_equal(g.grad("a2"), g.grad("L2")[:, :2])
    L3 = g.value("L3")
    np.testing.assert_allclose(g.grad("y"), np.log((1 - L3) / L3), rtol=1e-12)


def test_the_shapes_the_text_promises(net4):
    expected = {"X": (1, 2), "L1": (1, 3), "θ1": (3, 2), "z2": (1, 2), "a2": (1, 2),
                "L2": (1, 3), "θ2": (3, 1), "z3": (1, 1), "L3": (1, 1), "y": (1, 1), "C": ()}
    assert {n.name: np.shape(net4.graph.value(n)) for n in net4.graph.nodes} == expected


def test_scalar_level_remarks(net4):
    scalar = cg.nn.scalar_sigmoid_net()
    scalar.set_params(net4.theta1.value, net4.theta2.value)
    scalar.graph.forward(x1=1.0, x2=0.0, y=1.0)
    scalar.graph.backward()
    assert len(scalar.graph) == 32 and len(net4.graph) == 11
    assert scalar.graph.grad("θ1_21") == 0 and scalar.graph.grad("θ1_22") == 0
    for (i, j), node in scalar.theta1.items():
        assert np.isclose(scalar.graph.grad(node), net4.graph.grad("θ1")[i - 1, j - 1],
                          rtol=0, atol=1e-12)
    # "the constant node 1 shows no gradient": no backward step goes into a constant
    steps = scalar.graph.trace(x1=1.0, x2=0.0, y=1.0)
    assert all(s.child.role != "const" for s in steps.backward_steps)


def test_check_4_counts_its_non_zeros(net4):
    L1_in, t1 = cg.Input("L1"), cg.Param("θ1", net4.theta1.value)
    L2_layer = cg.append_one(cg.sigmoid(cg.matmul(L1_in, t1, name="z2"), name="a2"), name="L2")
    eng, num = cg.nn.jacobian(L2_layer, "θ1", L1=net4.graph.value("L1"))
    assert eng.size == 18 and np.count_nonzero(eng) == 4
    np.testing.assert_allclose(num, eng, atol=1e-9)
    assert np.all(eng[0, 2] == 0)


def test_exercise_2_of_notebook_4_a_transpose_numpy_cannot_see():
    theta1_3 = cg.nn.init_sigmoid_params(seed=1, hidden=3)[0]
    assert theta1_3.shape == (3, 3)
    L1 = np.hstack([np.random.default_rng(1).uniform(size=(5, 2)), np.ones((5, 1))])
    G = np.random.default_rng(2).normal(size=(5, 3))
    assert not np.allclose(G @ theta1_3, G @ theta1_3.T)            # the bug is visible
    with pytest.raises(ValueError):                                    # and in the 2-2-1 net
        np.random.default_rng(2).normal(size=(5, 2)) @ cg.nn.init_sigmoid_params(seed=0)[0]
    L_in, th = cg.Input("L1"), cg.Param("θ1", theta1_3)
    g = cg.Graph(cg.sum(cg.matmul(L_in, th) * cg.Const(G)))
    g.forward(L1=L1)
    g.backward()
    np.testing.assert_allclose(g.grad("L1"), G @ theta1_3.T)
    np.testing.assert_allclose(g.grad("θ1"), L1.T @ G)


def test_exercise_3_of_notebook_4_central_differences_at_the_kink():
    before = set(OPS)
    try:
        op = cg.new_op("t_lrelu", lambda v: np.where(v > 0, v, 0.1 * v),
                       lambda out, v: (np.where(v > 0, 1.0, 0.1),))
        g = cg.Graph(op(cg.Input("v")))
        assert cg.numeric_grad(g, "v", v=0.0) == pytest.approx(0.55, abs=1e-9)
    finally:
        for name in set(OPS) - before:
            del OPS[name]


# --- notebook 5: the facts its prose states ------------------------------------------------------

@pytest.fixture(scope="module")
def xor():
    net = cg.nn.sigmoid_net(seed=0)
    net.graph.forward(X=cg.nn.XOR_X, y=cg.nn.XOR_Y)
    net.graph.backward()
    return net


def test_the_step_texts_the_prose_quotes(xor):
    pic = cg.nn.sigmoid_net(xor.theta1.value, xor.theta2.value)
    steps = pic.graph.trace(X=cg.nn.XOR_X[2:3], y=cg.nn.XOR_Y[2:3])
    assert lessons.backward_step_into(steps, "θ2").text.startswith("∂C/∂θ2 = L2ᵀ · ∂C/∂z3 = ")
    assert lessons.backward_step_into(steps, "θ1").text.startswith("∂C/∂θ1 = L1ᵀ · ∂C/∂z2 = ")
    texts = "\n".join(s.text for s in steps.backward_steps)
    for quoted in ["∂C/∂z3 · θ2ᵀ", "∂C/∂L2 without its last column", "L1ᵀ · ∂C/∂z2"]:
        assert quoted in texts
    text5 = markdown(NB5)
    assert "(L3−y)/(m·L3(1−L3))" in text5 and "log((1−L3)/L3)/m" in text5


def test_the_slip_is_off_by_more_than_ten_percent_and_only_the_last_row_agrees(xor):
    g = xor.graph
    L1, L2, a2 = g.value("L1"), g.value("L2"), g.value("a2")
    theta2, m = xor.theta2.value, 4
    delta2 = ((g.value("L3") - cg.nn.XOR_Y) @ theta2[:2].T) * a2 * (1 - a2)
    slipped, right = L2.T @ delta2 / m, L1.T @ delta2 / m
    assert cg.relative_error(slipped, g.grad("θ1")) > 0.1
    assert np.allclose(slipped[2], right[2]) and not np.allclose(slipped[:2], right[:2])
    assert "more than 10%" in markdown(NB5)


def test_any_depth_the_loop_matches_the_engine_and_the_221_net(xor):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(6, 3)), (rng.uniform(size=(6, 1)) > 0.5) * 1.0
    for widths, seed in (([3, 4, 1], 1), ([3, 4, 3, 1], 2)):
        net = cg.nn.sigmoid_layers_net(widths, seed=seed)
        assert net.depth == len(widths)
        W = {j: p.value for j, p in net.W.items()}
        b = {j: p.value for j, p in net.b.items()}
        ref = cg.nn.layers_backprop(X, y, W, b)
        net.graph.forward(X=X, y=y)
        net.graph.backward()
        for j in W:
            np.testing.assert_allclose(ref["delta"][j], 6 * net.graph.grad(f"z{j}"), atol=1e-14)
            np.testing.assert_allclose(ref["W"][j], net.graph.grad(f"W{j}"), atol=1e-14)
            np.testing.assert_allclose(ref["b"][j], net.graph.grad(f"b{j}"), atol=1e-14)
        assert cg.gradcheck(net.graph, X=X, y=y) < 1e-6
    t1, t2 = xor.theta1.value, xor.theta2.value
    ref = cg.nn.layers_backprop(cg.nn.XOR_X, cg.nn.XOR_Y, {2: t1[:2], 3: t2[:2]},
                                {2: t1[2], 3: t2[2]})
    np.testing.assert_allclose(np.vstack([ref["W"][2], ref["b"][2]]), xor.graph.grad("θ1"),
                               atol=1e-14)
    np.testing.assert_allclose(np.vstack([ref["W"][3], ref["b"][3][None]]), xor.graph.grad("θ2"),
                               atol=1e-14)


def test_sigmoid_layers_net_with_several_outputs_and_bad_widths():
    net = cg.nn.sigmoid_layers_net([2, 3, 2], seed=4)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 2)), (rng.uniform(size=(5, 2)) > 0.5) * 1.0
    C = net.graph.forward(X=X, y=y)
    a = net.graph.value("a3")
    assert C == pytest.approx(np.mean(np.sum(-y * np.log(a) - (1 - y) * np.log(1 - a), axis=1)))
    assert cg.gradcheck(net.graph, X=X, y=y) < 1e-6
    ref = cg.nn.layers_backprop(X, y, {j: p.value for j, p in net.W.items()},
                                {j: p.value for j, p in net.b.items()})
    net.graph.backward()
    np.testing.assert_allclose(ref["W"][2], net.graph.grad("W2"), atol=1e-14)
    W, b = cg.nn.init_layers([3, 5, 2], seed=0)
    assert W[2].shape == (3, 5) and W[3].shape == (5, 2) and b[2].shape == (5,)
    for bad in ([3], [3, 0, 1], [2.5, 1], "ab"):
        with pytest.raises(cg.CompgraphError):
            cg.nn.init_layers(bad)
    with pytest.raises(KeyError):
        lessons.backward_step_into(net.graph.trace(X=X, y=y), "no such node")


def test_softmax_paths_and_p_minus_y():
    z = [cg.Input(f"z{i}") for i in (1, 2, 3)]
    e = [cg.exp(zi, name=f"e{i}") for i, zi in enumerate(z, 1)]
    s = cg.add(cg.add(e[0], e[1], name="s12"), e[2], name="s")
    C = -cg.log(cg.div(e[0], s, name="p1"), name="log p1")
    g = cg.Graph(C)
    scores = {"z1": 1.0, "z2": 2.0, "z3": 0.5}
    g.forward(**scores)
    g.backward()
    assert [len(g.paths(n)) for n in scores] == [2, 1, 1]
    assert g.paths("z1")[0].product == pytest.approx(-1.0) or \
        g.paths("z1")[1].product == pytest.approx(-1.0)
    v = np.array(list(scores.values()))
    p = np.exp(v) / np.exp(v).sum()
    np.testing.assert_allclose([g.grad(n) for n in scores], p - [1, 0, 0], rtol=1e-12)


def test_the_small_relu_net_has_the_silent_units_the_text_names():
    small = cg.nn.relu_net(3, 2, 2, seed=18)
    small.graph.forward(x=np.array([0.5, -1.0, 2.0]), y=np.array([1.0, 0.0]))
    assert list(small.graph.value("W1x") > 0) == [True, False]     # hidden unit 2 silent
    assert list(small.graph.value("W2h") > 0) == [False, True]     # output 1 silent
    assert "hidden unit 2 and output 1 are silent" in " ".join(markdown(NB5).split())


def test_the_learning_rate_paragraph():
    n, n_h, k = 100, 10, 2
    x = np.random.default_rng(105).normal(size=n)
    y = np.array([1.0, 0.5])
    xx = float(x @ x)
    assert 80 < xx < 130                               # "‖x‖² ≈ 100"
    assert 0.4 < 0.005 * xx < 0.7                      # "about half of δ_h"
    assert 8 < 0.1 * xx < 15                           # "about ten times δ_h"

    def descend(eta, steps=20):
        net = cg.nn.relu_net(n, n_h, k, seed=5)
        history, hidden = [], []
        for _ in range(steps):
            history.append(net.graph.forward(x=x, y=y))
            hidden.append(net.graph.value("W1x").copy())
            net.graph.backward()
            cg.nn.gradient_descent_step(net.graph, eta)
        history.append(net.graph.forward(x=x, y=y))
        hidden.append(net.graph.value("W1x").copy())
        return np.array(history), hidden, net

    small, _, _ = descend(0.005)
    assert np.all(np.diff(small) < 0)
    large, hidden, net = descend(0.1)
    assert large[1] > large[0]                          # overshoots: E grows
    assert np.all(hidden[2] < 0)                        # then every hidden unit turns negative
    assert np.allclose(large[2:], 0.5 * np.sum(y ** 2))
    assert np.all(net.graph.value("h") == 0) and np.all(net.graph.value("f") == 0)


def test_exercise_facts_of_notebook_5(xor):
    # Exercise 2: only the bias gradients are off, by the factor m
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(6, 3)), (rng.uniform(size=(6, 1)) > 0.5) * 1.0
    net = cg.nn.sigmoid_layers_net([3, 4, 3, 1], seed=2)
    ref = cg.nn.layers_backprop(X, y, {j: p.value for j, p in net.W.items()},
                                {j: p.value for j, p in net.b.items()})
    for j in (2, 3, 4):
        summed = np.ones(6) @ ref["delta"][j]
        np.testing.assert_allclose(summed, 6 * ref["b"][j])
        assert cg.relative_error(summed, ref["b"][j]) == pytest.approx(5 / 6)
    # Exercise 3: the extra column is zero and makes a 3×3 gradient
    t1, t2 = xor.theta1.value, xor.theta2.value
    L1 = np.hstack([cg.nn.XOR_X, np.ones((4, 1))])
    L2 = np.hstack([1 / (1 + np.exp(-(L1 @ t1))), np.ones((4, 1))])
    L3 = 1 / (1 + np.exp(-(L2 @ t2)))
    delta2 = ((L3 - cg.nn.XOR_Y) @ t2.T) * L2 * (1 - L2)
    assert (L1.T @ delta2).shape == (3, 3) and np.all(delta2[:, 2] == 0)
    # Exercise 5: the first hidden unit is silent and both outputs are active
    small = cg.nn.relu_net(4, 3, 2, seed=6)
    small.graph.forward(x=np.array([1.0, -0.5, 2.0, 0.3]), y=np.array([1.0, 0.0]))
    assert list(small.graph.value("W1x") > 0) == [False, True, True]
    assert np.all(small.graph.value("W2h") > 0)
