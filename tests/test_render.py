"""Static pictures: what every node and edge says, which classes mark the state of a step, the
layout made once, directions, graphviz-special names, and what happens without graphviz. Read in
the SVG that graphviz draws (texts and classes by their stable ids)."""

from __future__ import annotations

import base64
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from pictures import (
    CHAIN_INPUTS,
    CLASSIC_INPUTS,
    XOR_INPUTS,
    chain_rule_graph,
    classic_graph,
)

import compgraph as cg
from compgraph import scene
from compgraph.nodes import CONST, INPUT, OP, PARAM
from compgraph.trace import edge_text

SVG = "{http://www.w3.org/2000/svg}"


def g4(v: float) -> str:
    return f"{v:.4g}"


class Drawn:
    """A static picture read back: texts and classes by id, node ids by name."""

    def __init__(self, graph: cg.Graph, svg: str):
        self.root = ET.fromstring(svg.encode())
        self.graph = graph
        self.texts = {t.get("id"): t.text or "" for t in self.root.iter(SVG + "text")
                      if t.get("id")}
        self.classes = {g.get("id"): set(g.get("class", "").split())
                        for g in self.root.iter(SVG + "g") if g.get("id")}
        self.lines = {g.get("id"): [t.text or "" for t in g.iter(SVG + "text")]
                      for g in self.root.iter(SVG + "g") if g.get("id")}

    def node(self, name: str) -> str:
        return f"n{self.graph.position[self.graph.node(name)]}"

    def edge(self, child: str, parent: str, slot: int | None = None) -> str:
        p, c = self.graph.node(parent), self.graph.node(child)
        k = 0
        for node in self.graph.nodes:
            for s, ch in enumerate(node.children):
                if node is p and ch is c and (slot is None or slot == s):
                    return f"e{k}"
                k += 1
        raise KeyError((child, parent))

    def value(self, name: str) -> str:
        return self.texts[self.node(name) + "-v"]

    def grad(self, name: str) -> str:
        return self.texts[self.node(name) + "-g"]

    def label(self, child: str, parent: str) -> str:
        return self.texts[self.edge(child, parent) + "-l"]

    def cls(self, some_id: str) -> set[str]:
        return self.classes[some_id]


def drawn(graph: cg.Graph, trace: cg.Trace | None = None, step: int | None = None,
          rankdir: str = "LR") -> Drawn:
    return Drawn(graph, cg.render(graph, trace, step, rankdir=rankdir).svg)


# --- nodes -------------------------------------------------------------------------------------

def test_nodes_show_name_formula_value_and_then_gradient():
    g = chain_rule_graph()
    t = g.trace(**CHAIN_INPUTS)
    x = 0.5
    h, s = x * x, math.sin(x * x)
    f = math.exp(s)
    last_forward = len(t.forward_steps) - 1
    d = drawn(g, t, last_forward)
    assert d.lines[d.node("x")][:2] == ["x", g4(x)]
    assert d.lines[d.node("h")][:2] == ["h = x²", g4(h)]
    assert d.lines[d.node("g")][:2] == ["g = sin(h)", g4(s)]
    assert d.lines[d.node("f")][:2] == ["f = e^g", g4(f)]
    assert all(d.grad(n) == "" for n in "xhgf"), "no gradient before the backward pass"

    d = drawn(g, t)  # the last step: every gradient known
    assert d.grad("x") == f"∂f/∂x = {g4(f * math.cos(h) * 2 * x)}"
    assert d.grad("h") == f"∂f/∂h = {g4(f * math.cos(h))}"
    assert d.grad("f") == "∂f/∂f = 1"
    grads = [t for t in d.root.iter(SVG + "text") if (t.get("id") or "").endswith("-g")]
    assert grads and all("cg-grad" in t.get("class") for t in grads)


def test_values_appear_as_the_forward_pass_reaches_them():
    g = classic_graph()
    t = g.trace(**CLASSIC_INPUTS)
    d = drawn(g, t, 0)  # only a is known (and the constant 1)
    assert d.value("a") == "2" and "cg-known" in d.cls(d.node("a"))
    for name in "bcde":
        assert d.value(name) == "?" and "cg-pending" in d.cls(d.node(name)), name
    assert d.lines[d.node("1")] == ["1", "1"]  # constants: shown from the start, no gradient
    d = drawn(g, t, 4)
    assert [d.value(n) for n in "abcde"] == ["2", "1", "3", "2", "6"]


def test_four_significant_digits():
    x = cg.Input("x")
    g = cg.Graph(cg.mul(x, 1.0, name="y"))
    g.forward(x=123456.789)
    assert drawn(g).value("y") == "1.235e+05"
    g.forward(x=-0.000123456)
    assert drawn(g).value("y") == "-0.0001235"


def test_array_nodes_show_shape_and_small_values():
    net = cg.nn.sigmoid_net()
    t = net.graph.trace(**XOR_INPUTS)
    d = drawn(net.graph, t)
    assert d.value("X") == "4×2 array"                    # 8 elements: shape only
    assert d.value("y") == "4×1: [[0], [1], [1], [0]]"     # ≤ 6 elements: shape and values
    for v in net.theta1.value.ravel():
        assert g4(v) in d.value("θ1")
    assert d.grad("θ1").startswith("∂C/∂θ1 = 3×2: [[")
    assert g4(net.graph.grad("θ1")[0, 0]) in d.grad("θ1")
    assert d.grad("a2") == "∂C/∂a2 = 4×2 array"


# --- edges -------------------------------------------------------------------------------------

def test_scalar_edges_show_symbolic_and_numeric_local_derivative():
    g = chain_rule_graph()
    d = drawn(g, g.trace(**CHAIN_INPUTS))
    assert d.label("x", "h") == f"2x = {g4(1.0)}"
    assert d.label("h", "g") == f"cos(h) = {g4(math.cos(0.25))}"
    assert d.label("g", "f") == f"e^g = {g4(math.exp(math.sin(0.25)))}"


def test_edges_show_only_the_symbol_before_their_values_are_known():
    g = chain_rule_graph()
    d = drawn(g, g.trace(**CHAIN_INPUTS), 0)
    assert [d.label("x", "h"), d.label("h", "g"), d.label("g", "f")] == ["2x", "cos(h)", "e^g"]


def test_array_edges_say_what_they_carry():
    net = cg.nn.sigmoid_net()
    d = drawn(net.graph, net.graph.trace(**XOR_INPUTS))
    e = d.edge("θ2", "z3")
    assert (d.texts[e + "-l"], d.texts[e + "-l2"]) == ("L2", "θ2 is 3×1")
    assert d.texts[d.edge("L1", "z2") + "-l2"] == "L1 is 4×3"
    assert d.texts[d.edge("L3", "C") + "-l"].endswith("(m = 4)")  # an averaging loss's m


def test_every_edge_label_is_the_trace_s_edge_text():
    for graph, inputs in ((cg.nn.sigmoid_net().graph, XOR_INPUTS),
                          (classic_graph(), CLASSIC_INPUTS), (chain_rule_graph(), CHAIN_INPUTS)):
        d = drawn(graph, graph.trace(**inputs))
        for k, (parent, slot) in enumerate((n, s) for n in graph.nodes
                                           for s in range(len(n.children))):
            shown = [d.texts[f"e{k}-l"]] + ([d.texts[f"e{k}-l2"]] if f"e{k}-l2" in d.texts
                                            else [])
            assert "\n".join(shown) == edge_text(parent, slot, graph.values), (parent, slot)


def test_edge_numbers_come_from_the_trace_not_from_later_passes():
    g = chain_rule_graph()
    t = g.trace(x=0.5)
    g.forward(x=2.0)  # the graph now holds another pass
    assert drawn(g, t).label("x", "h") == "2x = 1"


# --- the state of a step, as classes -----------------------------------------------------------

def test_roles_have_distinct_fill_colours():
    fills = {role: scene.ROLE_STYLE[role][0] for role in (INPUT, PARAM, CONST, OP, "output")}
    assert len(set(fills.values())) == 5
    g = classic_graph()
    g.forward(**CLASSIC_INPUTS)
    d = drawn(g)
    for name, role in (("a", INPUT), ("1", CONST), ("c", OP), ("e", "output")):
        group = next(x for x in d.root.iter(SVG + "g") if x.get("id") == d.node(name))
        outline = next(iter(group))
        assert outline.get("fill").lower() == fills[role].lower(), name


def test_forward_step_marks_the_current_node_and_the_edges_it_reads():
    g = classic_graph()
    t = g.trace(**CLASSIC_INPUTS)
    c_step = next(s.index for s in t.forward_steps if s.node.name == "c")
    d = drawn(g, t, c_step)
    assert "cg-current" in d.cls(d.node("c"))
    assert sum("cg-current" in c for c in d.classes.values()) == 1
    assert "cg-feeding" in d.cls(d.edge("a", "c")) and "cg-feeding" in d.cls(d.edge("b", "c"))
    assert "cg-feeding" not in d.cls(d.edge("b", "d"))
    assert "cg-phase-forward" in d.root.get("class")


def test_backward_step_marks_the_current_edge_and_the_finished_ones():
    g = classic_graph()
    t = g.trace(**CLASSIC_INPUTS)
    back = t.backward_steps
    d = drawn(g, t, back[2].index)
    current = d.edge(back[2].child.name, back[2].parent.name)
    assert d.cls(current) >= {"cg-current"}
    assert "cg-done" in d.cls(d.edge(back[1].child.name, back[1].parent.name))
    assert "cg-done" not in d.cls(current)
    assert "cg-phase-backward" in d.root.get("class")
    d = drawn(g, t)  # the last step: every traversed edge is done
    done = [k for k, c in d.classes.items() if "cg-done" in c]
    assert len(done) == len(back) - 2  # all but the seed and the current one


def test_forward_mode_gradient_lines_read_d_node_by_wrt():
    g = classic_graph()
    t = g.forward_mode_trace("b", **CLASSIC_INPUTS)
    d = drawn(g, t)
    assert d.grad("e") == "∂e/∂b = 5"
    assert d.grad("a") == "∂a/∂b = 0"
    assert "cg-phase-tangent" in d.root.get("class")


def test_the_static_picture_carries_its_styles():
    g = chain_rule_graph()
    svg = cg.render(g, g.trace(**CHAIN_INPUTS), 5).svg
    style = re.search(r"<style>(.*?)</style>", svg, re.S).group(1)
    for rule in (".edge.cg-current > path", "stroke-dasharray", ".edge.cg-done > path",
                 "text.cg-grad"):
        assert rule in style
    assert 'class="cg-graph cg-phase-backward"' in svg


# --- layout ------------------------------------------------------------------------------------

def _layout(svg: str) -> list[str]:
    """Every drawn shape's geometry: what a step must never change."""
    return re.findall(r'(?:points|d|cx|cy|x|y)="[^"]*"', re.sub(r"<text[^>]*>", "", svg))


def test_the_layout_is_made_once_and_every_step_keeps_it():
    g = classic_graph()
    t = g.trace(**CLASSIC_INPUTS)
    before = scene.LAYOUT_RUNS
    stepper = cg.Stepper(g, **CLASSIC_INPUTS)
    assert scene.LAYOUT_RUNS - before == 1
    shapes = set()
    for i in range(len(t)):
        stepper.go(i)
        shapes.add(tuple(_layout(stepper.svg)))
    assert scene.LAYOUT_RUNS - before == 1, "stepping laid the graph out again"
    assert len(shapes) == 1
    # the reader notices a moved node
    svg = stepper.svg
    moved = re.sub(r'cx="([\d.]+)"', lambda m: f'cx="{float(m.group(1)) + 1}"', svg, count=1)
    assert _layout(moved) != _layout(svg)


def test_rankdir_lr_and_bt_both_work_and_differ():
    g = classic_graph()
    g.forward(**CLASSIC_INPUTS)
    lr, bt = cg.render(g, rankdir="LR").svg, cg.render(g, rankdir="BT").svg
    assert _layout(lr) != _layout(bt)


@pytest.mark.parametrize("rankdir", ["TB", "RL"])
def test_other_directions(rankdir):
    g = chain_rule_graph()
    g.forward(**CHAIN_INPUTS)
    assert drawn(g, rankdir=rankdir).value("f") == g4(math.exp(math.sin(0.25)))


@pytest.mark.parametrize("rankdir", ["lr", "XY", ""])
def test_invalid_rankdir_raises(rankdir):
    with pytest.raises(cg.CompgraphError, match="rankdir must be one of"):
        cg.render(chain_rule_graph(), rankdir=rankdir)


@pytest.mark.parametrize("name", ["<x", "<b>bold</b>", 'say "hi"', "back\\slash", "a\nb",
                                  "{rec|ord}", "&amp;", "\\N\\G"])
def test_graphviz_special_names_draw_as_written(name):
    x = cg.Input(name)
    g = cg.Graph(cg.sin(x, name="f"))
    g.forward(**{name: 0.5})
    g.backward()
    d = drawn(g)
    one_line = " ".join(name.splitlines())
    assert d.lines[d.node(name)] == [one_line, "0.5", f"∂f/∂{one_line} = {g4(math.cos(0.5))}"]
    label = "\n".join(d.lines[d.edge(name, "f")])  # a name's line break stays one
    assert label == f"cos({name}) = {g4(math.cos(0.5))}"


def test_render_rejects_a_trace_of_another_graph_and_a_step_outside():
    g, other = chain_rule_graph(), chain_rule_graph()
    t = other.trace(**CHAIN_INPUTS)
    with pytest.raises(cg.CompgraphError, match="another graph"):
        cg.render(g, t)
    with pytest.raises(cg.CompgraphError, match=r"step 99 is outside the trace \(steps 0 to 7\)"):
        cg.render(other, t, 99)


def test_render_without_trace_shows_what_the_graph_holds():
    g = chain_rule_graph()
    g.forward(**CHAIN_INPUTS)
    d = drawn(g)
    assert d.value("f") == g4(math.exp(math.sin(0.25))) and d.grad("f") == ""
    g.backward()
    assert drawn(g).grad("f") == "∂f/∂f = 1"
    fresh = chain_rule_graph()  # never run: names, and "?" for every value
    assert drawn(fresh).value("h") == "?"


# --- in a notebook -----------------------------------------------------------------------------

def test_picture_shows_as_an_image_with_a_short_text():
    g = chain_rule_graph()
    g.forward(**CHAIN_INPUTS)
    picture = cg.render(g)
    bundle = picture._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    assert bundle["text/plain"] == "<compgraph.Picture: 3 edges>" == repr(picture)
    src = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)"', bundle["text/html"])
    assert base64.b64decode(src.group(1)).decode() == picture.svg
    assert "max-width: 100%" in bundle["text/html"]


def test_picture_image_fits_the_column_but_keeps_its_text_readable():
    """Scaled to the column, never below 3/4 of its natural size (graphviz's 10 pt text at 10 px);
    wider than that, its own box scrolls sideways. Nothing caps its height."""
    g = chain_rule_graph()
    g.forward(**CHAIN_INPUTS)
    picture = cg.render(g)
    shown = picture._repr_mimebundle_()["text/html"]
    width_pt = float(re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', picture.svg).group(1))
    least = float(re.search(r"min-width: ([\d.]+)px", shown).group(1))
    assert abs(least - width_pt) <= 0.5  # 1 pt = 4/3 px: 3/4 of the natural width in px
    assert re.search(r'<div class="cg-static" style="[^"]*overflow-x: auto', shown)
    assert "max-height" not in shown


def test_picture_pipes_other_formats_with_dot():
    g = chain_rule_graph()
    g.forward(**CHAIN_INPUTS)
    png = cg.render(g).pipe(format="png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "f = e^g\\n1.281" in cg.render(g).source


def test_legend_needs_no_dot_and_names_every_style(no_graphviz):
    picture = cg.legend()
    for words in ("input", "parameter", "constant", "operation", "output / loss", "dashed",
                  "a path"):
        assert words in picture.svg
    assert picture._repr_mimebundle_()["text/plain"] == "<compgraph.Picture: legend>"


# --- without graphviz ----------------------------------------------------------------------------

@pytest.fixture
def no_graphviz(monkeypatch, tmp_path):
    """`dot` cannot be found (an empty PATH)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_without_dot_a_picture_is_drawn_in_the_browser(no_graphviz):
    g = chain_rule_graph()
    g.forward(**CHAIN_INPUTS)
    before = scene.LAYOUT_RUNS
    picture = cg.render(g)
    assert scene.LAYOUT_RUNS == before  # nothing laid out in the kernel
    bundle = picture._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == "<compgraph.Picture: 3 edges>"
    assert "digraph compgraph" in picture.source  # the DOT the browser lays out
    with pytest.raises(cg.GraphvizMissing) as caught:
        _ = picture.svg
    message = str(caught.value)
    assert isinstance(caught.value, cg.CompgraphError)
    for command in ("sudo apt-get install graphviz", "brew install graphviz",
                    "conda install -c conda-forge graphviz"):
        assert command in message
    with pytest.raises(cg.GraphvizMissing):
        picture.pipe(format="png")


def test_graphviz_failure_is_a_compgraph_error(monkeypatch, tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dot").write_text("#!/bin/sh\necho 'Error: syntax error in line 1' >&2\nexit 1\n")
    (fake / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))
    with pytest.raises(cg.CompgraphError, match="graphviz failed: Error: syntax error"):
        cg.render(chain_rule_graph())


# --- limits ------------------------------------------------------------------------------------

def _chain(n: int) -> cg.Graph:
    x = cg.Input("x")
    node = x
    for i in range(n):
        node = cg.sin(node, name=f"s{i}")
    return cg.Graph(node)


def test_drawing_limit_is_a_clear_error_with_the_numbers():
    limit = cg.limits.MAX_DRAW_NODES
    big = _chain(limit)  # one more node than the limit (x)
    with pytest.raises(cg.SizeError,
                       match=rf"too big to draw: {limit + 1} nodes, more than the limit of "
                             rf"{limit}; draw a part of it, e.g. cg.Graph\(<an inner node>\)"):
        cg.render(big)
    cg.render(_chain(limit - 1))  # at the limit: drawn


def test_step_limit_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(cg.limits, "MAX_STEPS", 5)
    g = chain_rule_graph()
    with pytest.raises(cg.SizeError, match="too long to step through: 8 steps, more than the "
                                           "limit of 5"):
        cg.Stepper(g, **CHAIN_INPUTS)


def test_values_of_arrays_do_not_change_the_layout():
    net = cg.nn.sigmoid_net()
    t1 = net.graph.trace(**XOR_INPUTS)
    first = cg.render(net.graph, t1, 3, rankdir="BT").svg
    net.theta1.value = np.full((3, 2), 1e-7)
    t2 = net.graph.trace(**XOR_INPUTS)
    second = cg.render(net.graph, t2, 3, rankdir="BT").svg
    assert _layout(first) == _layout(second)
