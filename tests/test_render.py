"""Rendering: what every node and edge says, colours and highlights, directions, the fixed layout,
and what happens without graphviz. Everything is checked in the SVG that graphviz draws."""

from __future__ import annotations

import math
import re

import graphviz
import numpy as np
import pytest
from pictures import (
    CHAIN_INPUTS,
    CLASSIC_INPUTS,
    SCALAR_INPUTS,
    XOR_INPUTS,
    centres,
    chain_rule_graph,
    classic_graph,
    edge_title,
    frame_geometry,
    log_graph,
    node_title,
    parse,
)

import compgraph as cg
from compgraph.graph import CONST, INPUT, OP, PARAM
from compgraph.render import (
    BACKWARD_COLOUR,
    FORWARD_COLOUR,
    PATH_COLOUR,
    PENDING_COLOUR,
    ROLE_STYLE,
    Frame,
    Renderer,
    _dot_source,
    final_frame,
    frames,
)


def g4(v: float) -> str:
    """4 significant digits, as the pictures write numbers (graphviz's SVG writes '-' plainly)."""
    return f"{v:.4g}"


def svg_of(graph: cg.Graph, trace: cg.Trace | None = None, step: int | None = None,
           rankdir: str = "LR") -> str:
    return cg.render(graph, trace, step, rankdir=rankdir).svg


# --- nodes -------------------------------------------------------------------------------------

def test_nodes_show_name_formula_value_and_then_gradient():
    g = chain_rule_graph()
    t = g.trace(**CHAIN_INPUTS)
    x = 0.5
    h, s = x * x, math.sin(x * x)
    f = math.exp(s)
    dfdx = f * math.cos(h) * 2 * x
    last_forward = len(t.forward_steps) - 1

    nodes, _, _ = parse(svg_of(g, t, last_forward))
    text = {name: nodes[node_title(g, name)].text for name in "xhgf"}
    assert text["x"] == f"x {g4(x)}"
    assert text["h"] == f"h = x² {g4(h)}"
    assert text["g"] == f"g = sin(h) {g4(s)}"
    assert text["f"] == f"f = e^g {g4(f)}"
    assert not any("∂" in t for t in text.values()), "no gradient before the backward pass"

    nodes, _, _ = parse(svg_of(g, t))  # the last frame: every gradient known
    assert nodes[node_title(g, "x")].text == f"x {g4(x)} ∂f/∂x = {g4(dfdx)}"
    assert nodes[node_title(g, "h")].text.endswith(f"∂f/∂h = {g4(f * math.cos(h))}")
    assert nodes[node_title(g, "f")].text.endswith("∂f/∂f = 1")
    grad_colours = {c for n in nodes.values() for text, c in zip(n.texts, n.text_colours)
                    if text.startswith("∂")}
    assert grad_colours == {BACKWARD_COLOUR.lower()}


def test_values_appear_as_the_forward_pass_reaches_them():
    g = classic_graph()
    t = g.trace(**CLASSIC_INPUTS)
    nodes, _, _ = parse(svg_of(g, t, 0))  # only a is known (and the constant 1)
    assert nodes[node_title(g, "a")].texts[1] == "2"
    for name in "bcde":
        node = nodes[node_title(g, name)]
        assert node.texts[-1] == "?" and node.text_colours[-1] == PENDING_COLOUR.lower(), name
    assert nodes[node_title(g, "1")].texts == ["1", "1"]  # constants are shown from the start
    nodes, _, _ = parse(svg_of(g, t, 4))
    assert [nodes[node_title(g, n)].texts[-1] for n in "abcde"] == ["2", "1", "3", "2", "6"]


def test_four_significant_digits():
    x = cg.Input("x")
    g = cg.Graph(cg.mul(x, 1.0, name="y"))
    g.forward(x=123456.789)
    nodes, _, _ = parse(svg_of(g))
    assert nodes[node_title(g, "y")].texts[-1] == "1.235e+05"
    g.forward(x=-0.000123456)
    nodes, _, _ = parse(svg_of(g))
    assert nodes[node_title(g, "y")].texts[-1] == "-0.0001235"


def test_array_nodes_show_shape_and_small_values():
    net = cg.nn.sigmoid_net()
    t = net.graph.trace(**XOR_INPUTS)
    nodes, _, _ = parse(svg_of(net.graph, t))
    text = {name: nodes[node_title(net.graph, name)].text for name in ("X", "y", "θ1", "θ2", "C")}
    assert "4×2 array" in text["X"]                       # 8 elements: shape only
    assert "4×1: [[0], [1], [1], [0]]" in text["y"]       # ≤ 6 elements: shape and values
    t1 = net.theta1.value
    assert text["θ1"].startswith("θ1 3×2: [[")
    for v in t1.ravel():                                  # all six, to 4 significant digits
        assert g4(v) in text["θ1"]
    assert "∂C/∂θ1 = 3×2: [[" in text["θ1"]
    assert g4(net.graph.grad("θ1")[0, 0]) in text["θ1"]
    assert "4×2 array" in nodes[node_title(net.graph, "a2")].text  # gradient too: shape only
    assert text["C"].startswith(f"C = BCE(L3, y) {g4(net.C.value)}")


# --- edges -------------------------------------------------------------------------------------

def test_scalar_edges_show_symbolic_and_numeric_local_derivative():
    g = chain_rule_graph()
    t = g.trace(**CHAIN_INPUTS)
    x = 0.5
    _, edges, _ = parse(svg_of(g, t))
    assert edges[edge_title(g, "x", "h")].text == f"2x = {g4(2 * x)}"
    assert edges[edge_title(g, "h", "g")].text == f"cos(h) = {g4(math.cos(x * x))}"
    assert edges[edge_title(g, "g", "f")].text == f"e^g = {g4(math.exp(math.sin(x * x)))}"

    g = classic_graph()
    t = g.trace(**CLASSIC_INPUTS)
    _, edges, _ = parse(svg_of(g, t))
    assert edges[edge_title(g, "c", "e")].text == "d = 2"
    assert edges[edge_title(g, "d", "e")].text == "c = 3"
    assert edges[edge_title(g, "a", "c")].text == "1"  # "1 = 1" would say nothing


def test_edges_show_only_the_symbol_before_their_values_are_known():
    g = chain_rule_graph()
    t = g.trace(**CHAIN_INPUTS)
    _, edges, _ = parse(svg_of(g, t, 0))
    assert [edges[edge_title(g, *e)].text for e in (("x", "h"), ("h", "g"), ("g", "f"))] == \
        ["2x", "cos(h)", "e^g"]


def test_array_edges_show_the_shape():
    net = cg.nn.sigmoid_net()
    t = net.graph.trace(**XOR_INPUTS)
    _, edges, _ = parse(svg_of(net.graph, t))
    g = net.graph
    expected = {("X", "L1"): "4×2", ("L1", "z2"): "4×3", ("θ1", "z2"): "3×2",
                ("z2", "a2"): "4×2", ("L2", "z3"): "4×3", ("θ2", "z3"): "3×1",
                ("L3", "C"): "4×1", ("y", "C"): "4×1"}
    for (child, parent), shape in expected.items():
        edge = edges[edge_title(g, child, parent)]
        assert edge.texts[-1] == f"{child} is {shape}", (child, parent, edge.texts)
    # above the shape, the symbolic derivative: the label the trace (the op table) gives it
    for step in t.backward_steps[1:]:
        edge = edges[edge_title(g, step.child.name, step.parent.name)]
        assert edge.texts[0].startswith(step.local_label), (step.child.name, step.parent.name)
    assert edges[edge_title(g, "z3", "L3")].texts[0] == "L3(1−L3)"


def test_edge_numbers_come_from_the_frame_not_from_later_passes():
    """A picture of a trace keeps showing that trace's numbers after the graph has moved on
    (another forward pass, or a failed one that left some nodes half-updated)."""
    g = log_graph()
    t = g.trace(x=0.5)
    renderer = Renderer(g)
    before = renderer.picture(frames(t)[-1]).svg
    g.forward(x=4.0)
    with pytest.raises(cg.DomainError):
        g.forward(x=-1.0)
    after = renderer.picture(frames(t)[-1]).svg
    _, edges, _ = parse(after)
    assert edges[edge_title(g, "x", "l")].text == "1/x = 2"
    assert edges[edge_title(g, "l", "f")].text == f"cos(l) = {g4(math.cos(math.log(0.5)))}"
    assert after == before


# --- colours and highlights ----------------------------------------------------------------------

def test_roles_have_distinct_fill_colours():
    assert len({fill.lower() for fill, _, _ in ROLE_STYLE.values()}) == len(ROLE_STYLE)
    net = cg.nn.sigmoid_net()
    t = net.graph.trace(**XOR_INPUTS)
    nodes, _, _ = parse(svg_of(net.graph, t, 0))
    fill = {name: nodes[node_title(net.graph, name)].fill for name in ("X", "θ1", "z2", "C")}
    assert fill == {"X": ROLE_STYLE[INPUT][0].lower(), "θ1": ROLE_STYLE[PARAM][0].lower(),
                    "z2": ROLE_STYLE[OP][0].lower(), "C": ROLE_STYLE["output"][0].lower()}
    g = classic_graph()
    nodes, _, _ = parse(svg_of(g, g.trace(**CLASSIC_INPUTS), 0))
    assert nodes[node_title(g, "1")].fill == ROLE_STYLE[CONST][0].lower()
    seen = {n.fill for n in nodes.values()} | set(fill.values())
    assert seen == {fill.lower() for fill, _, _ in ROLE_STYLE.values()}


def test_forward_step_highlights_the_current_node():
    g = classic_graph()
    t = g.trace(**CLASSIC_INPUTS)
    for i, step in enumerate(t.forward_steps):
        nodes, edges, _ = parse(svg_of(g, t, i))
        thick = {title for title, n in nodes.items()
                 if n.stroke == FORWARD_COLOUR.lower() and n.stroke_width > 3}
        assert thick == {node_title(g, step.node.name)}, i
        assert all(e.stroke == "#666666" for e in edges.values()), i


def test_backward_step_highlights_the_current_edge_and_marks_finished_ones():
    g = classic_graph()
    t = g.trace(**CLASSIC_INPUTS)
    traversed: list[str] = []
    for i, step in enumerate(t):
        if step.kind != "backward":
            continue
        nodes, edges, _ = parse(svg_of(g, t, i))
        colour = BACKWARD_COLOUR.lower()
        current = {k for k, e in edges.items() if e.stroke == colour and e.stroke_width > 3}
        done = {k for k, e in edges.items() if e.stroke == colour and e.stroke_width <= 3}
        plain = {k for k, e in edges.items() if e.stroke == "#666666"}
        if step.parent is None:  # the seed ∂e/∂e = 1 highlights the output node
            assert current == set()
            assert nodes[node_title(g, "e")].stroke == colour
        else:
            here = edge_title(g, step.child.name, step.parent.name)
            assert current == {here}, i
            assert edges[here].text_colours == [colour] * len(edges[here].texts)
        assert done == set(traversed), i
        assert plain == set(edges) - current - done, i
        assert not any(n.stroke == FORWARD_COLOUR.lower() for n in nodes.values())
        if step.parent is not None:
            traversed.append(edge_title(g, step.child.name, step.parent.name))
    assert len(traversed) == 5  # every edge but the one from the constant


def test_forward_mode_frames_show_tangents_in_the_forward_colour():
    g = classic_graph()
    t = g.forward_mode_trace("b", **CLASSIC_INPUTS)
    nodes, edges, _ = parse(cg.render(g, t).svg)
    e = nodes[node_title(g, "e")]
    assert e.texts[-1] == "∂e/∂b = 5"
    assert e.text_colours[-1] == FORWARD_COLOUR.lower()
    assert e.stroke == FORWARD_COLOUR.lower()
    incoming = {edge_title(g, "c", "e"), edge_title(g, "d", "e")}
    assert {k for k, v in edges.items() if v.stroke == FORWARD_COLOUR.lower()} == incoming


def test_marked_path_edges():
    g = classic_graph()
    g.forward(**CLASSIC_INPUTS)
    path = g.paths("b")[0]
    renderer = Renderer(g)
    _, edges, _ = parse(renderer.picture(Frame(marked_edges=set(path.edges))).svg)
    marked = {k for k, e in edges.items() if e.stroke == PATH_COLOUR.lower()}
    names = [n.name for n in path.nodes]
    assert marked == {edge_title(g, lo, hi) for hi, lo in zip(names, names[1:])}


# --- direction -----------------------------------------------------------------------------------

def test_rankdir_lr_and_bt_both_work_and_differ():
    g = chain_rule_graph()
    t = g.trace(**CHAIN_INPUTS)
    lr, bt = centres(svg_of(g, t, rankdir="LR")), centres(svg_of(g, t, rankdir="BT"))
    order = [node_title(g, n) for n in "xhgf"]
    xs_lr, ys_lr = [lr[n][0] for n in order], [lr[n][1] for n in order]
    xs_bt, ys_bt = [bt[n][0] for n in order], [bt[n][1] for n in order]
    assert xs_lr == sorted(xs_lr) and len(set(xs_lr)) == 4 and len(set(ys_lr)) == 1  # left→right
    assert ys_bt == sorted(ys_bt, reverse=True) and len(set(ys_bt)) == 4  # bottom→top (SVG y down)
    assert len(set(xs_bt)) == 1
    assert lr != bt


@pytest.mark.parametrize("rankdir", ["TB", "RL"])
def test_other_directions(rankdir):
    g = classic_graph()
    assert centres(svg_of(g, g.trace(**CLASSIC_INPUTS), rankdir=rankdir))


@pytest.mark.parametrize("rankdir", ["XY", "lr", "", None, 3])
def test_invalid_rankdir_raises(rankdir):
    g = chain_rule_graph()
    g.forward(**CHAIN_INPUTS)
    with pytest.raises(cg.CompgraphError, match="rankdir"):
        cg.render(g, rankdir=rankdir)
    with pytest.raises(cg.CompgraphError, match="rankdir"):
        Renderer(g, rankdir)
    with pytest.raises(cg.CompgraphError, match="rankdir"):
        cg.Stepper(g, rankdir=rankdir, **CHAIN_INPUTS)


# --- the stable layout ---------------------------------------------------------------------------

def _scalar_net():
    return cg.nn.scalar_sigmoid_net().graph


def _vector_net():
    return cg.nn.sigmoid_net().graph


STABLE_CASES = {  # graph builder, inputs, other inputs
    "chain rule": (chain_rule_graph, CHAIN_INPUTS, {"x": -2.75}),
    "classic": (classic_graph, CLASSIC_INPUTS, {"a": -123.5, "b": 0.001}),
    "xor vector": (_vector_net, XOR_INPUTS, {"X": cg.nn.XOR_X[::-1] * 3.5, "y": cg.nn.XOR_Y}),
    "xor scalar": (_scalar_net, SCALAR_INPUTS, {"x1": 1.0, "x2": -12.25, "y": 0.0}),
}


@pytest.mark.parametrize("rankdir", ["LR", "BT"])
@pytest.mark.parametrize("case", list(STABLE_CASES))
def test_node_centres_never_move(case, rankdir):
    build, inputs, other = STABLE_CASES[case]
    g = build()
    renderer = Renderer(g, rankdir)
    reference = None
    for values in (inputs, other):
        pictures = [renderer.picture(f).svg for f in frames(g.trace(**values))]
        pictures.append(renderer.picture(final_frame(g)).svg)
        for i, svg in enumerate(pictures):
            geometry = frame_geometry(svg)
            assert len(geometry[0]) == len(g.nodes)
            if reference is None:
                reference = geometry
            assert geometry == reference, f"{case}: frame {i} at {values} moved something"
        assert len(set(pictures)) == len(pictures), "every frame draws something different"
    assert renderer.layouts_computed == 1


def test_the_centre_reader_is_sensitive():
    """The stable-layout test could pass vacuously if the SVG reader saw no change: show that
    it sees one when dot lays out each frame afresh, and when one node is moved by 0.5 pt."""
    g = classic_graph()
    t = g.trace(**CLASSIC_INPUTS)
    free = {repr(centres(graphviz.Source(_dot_source(g, f, "LR", None), format="svg")
                         .pipe(encoding="utf-8")))
            for f in frames(t)}
    assert len(free) > 1, "dot without pinned positions moves nodes as labels change"

    svg = svg_of(g, t)
    first = re.search(r'<ellipse [^>]*cx="([\d.]+)"', svg)
    nudged = svg[:first.start(1)] + str(float(first.group(1)) + 0.5) + svg[first.end(1):]
    assert centres(nudged) != centres(svg)
    paths = re.search(r'<path fill="#ffffff"[^>]* d="M([\d.]+)', svg)
    nudged = svg[:paths.start(1)] + str(float(paths.group(1)) + 50) + svg[paths.end(1):]
    assert centres(nudged) != centres(svg)
    assert centres(svg_of(chain_rule_graph(), chain_rule_graph().trace(x=1.0))) != centres(svg)


# --- without graphviz -----------------------------------------------------------------------------

@pytest.fixture
def no_graphviz(monkeypatch, tmp_path):
    """Neither `dot` nor `neato` can be found (an empty PATH)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def _assert_install_help(error: BaseException) -> None:
    assert isinstance(error, cg.GraphvizMissing)
    assert isinstance(error, cg.CompgraphError)
    assert not isinstance(error, graphviz.ExecutableNotFound)
    assert error.__cause__ is None and error.__suppress_context__
    message = str(error)
    for command in ("sudo apt-get install graphviz", "brew install graphviz",
                    "conda install -c conda-forge graphviz"):
        assert command in message


def test_missing_graphviz_at_layout(no_graphviz):
    g = chain_rule_graph()
    g.forward(**CHAIN_INPUTS)
    with pytest.raises(cg.CompgraphError) as caught:
        cg.render(g)
    _assert_install_help(caught.value)
    with pytest.raises(cg.CompgraphError) as caught:
        cg.Stepper(g, **CHAIN_INPUTS)
    _assert_install_help(caught.value)


def test_missing_graphviz_at_drawing(monkeypatch, tmp_path):
    """The layout exists (dot ran), then graphviz disappears: drawing and Jupyter's display
    hook raise GraphvizMissing, not graphviz.ExecutableNotFound."""
    g = chain_rule_graph()
    g.forward(**CHAIN_INPUTS)
    picture = cg.render(g)
    (tmp_path / "empty-bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    for show in (lambda: picture.svg, picture._repr_image_svg_xml, picture._repr_mimebundle_,
                 lambda: picture.pipe(format="png"), lambda: cg.legend().svg):
        with pytest.raises(cg.CompgraphError) as caught:
            show()
        _assert_install_help(caught.value)


def test_missing_graphviz_via_subprocess(monkeypatch):
    """The same when the lookup itself fails in subprocess (e.g. another OS's message)."""
    import subprocess

    def missing(*args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", args[0][0])

    monkeypatch.setattr(subprocess, "run", missing)
    monkeypatch.setattr(subprocess, "Popen", missing)
    g = classic_graph()
    g.forward(**CLASSIC_INPUTS)
    with pytest.raises(cg.CompgraphError) as caught:
        cg.render(g)
    _assert_install_help(caught.value)


def test_graphviz_failure_is_a_compgraph_error(monkeypatch):
    import subprocess

    real = subprocess.run

    def failing(args, **kwargs):
        return real(["dot", "-Tnonsense"], **kwargs)

    monkeypatch.setattr(subprocess, "run", failing)
    g = classic_graph()
    g.forward(**CLASSIC_INPUTS)
    with pytest.raises(cg.CompgraphError, match="graphviz failed"):
        cg.render(g)


# --- repr -----------------------------------------------------------------------------------------

def test_picture_repr_is_stable():
    g = classic_graph()
    t = g.trace(**CLASSIC_INPUTS)
    reprs = {repr(cg.render(g, t, i)) for i in range(len(t))}
    assert reprs == {"<compgraph.Picture: 6 edges>"}
    assert not re.search(r"0x[0-9a-f]+", repr(cg.legend()))
    assert repr(cg.legend()) == "<compgraph.Picture: 0 edges>"


def test_render_without_trace_shows_what_the_graph_holds():
    g = classic_graph()
    nodes, _, _ = parse(svg_of(g))  # nothing computed yet
    assert nodes[node_title(g, "e")].texts[-1] == "?"
    g.forward(**CLASSIC_INPUTS)
    nodes, _, _ = parse(svg_of(g))
    assert nodes[node_title(g, "e")].text == "e = c·d 6"
    g.backward()
    nodes, _, _ = parse(svg_of(g))
    assert nodes[node_title(g, "b")].texts[-1] == "∂e/∂b = 5"
    np.testing.assert_allclose(g.grad("b"), 5.0)
