"""Shared by test_render.py, test_widgets.py and test_browser.py: the graphs the lessons draw, and
a small reader of graphviz SVG (node centres, the text and colours of nodes and edges)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import compgraph as cg

SVG = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


# --- the graphs ----------------------------------------------------------------------------------

def chain_rule_graph() -> cg.Graph:
    """f(x) = e^{sin(x²)} as x → h → g → f (lesson 1)."""
    x = cg.Input("x")
    h = cg.square(x, name="h")
    g = cg.sin(h, name="g")
    return cg.Graph(cg.exp(g, name="f"))


def classic_graph() -> cg.Graph:
    """the classic e = (a + b)(b + 1) (lesson 2)."""
    a, b = cg.Input("a"), cg.Input("b")
    c = cg.add(a, b, name="c")
    d = cg.add(b, 1.0, name="d")
    return cg.Graph(cg.mul(c, d, name="e"))


def log_graph() -> cg.Graph:
    """f = sin(log x): defined only for x > 0."""
    x = cg.Input("x")
    return cg.Graph(cg.sin(cg.log(x, name="l"), name="f"))


CHAIN_INPUTS = {"x": 0.5}
CLASSIC_INPUTS = {"a": 2.0, "b": 1.0}
XOR_INPUTS = {"X": cg.nn.XOR_X, "y": cg.nn.XOR_Y}
SCALAR_INPUTS = {"x1": 0.0, "x2": 1.0, "y": 1.0}


# --- reading an SVG -------------------------------------------------------------------------------

@dataclass
class Shape:
    """One <g class="node"> or <g class="edge">: its title, text lines and drawing attributes."""

    title: str
    texts: list[str] = field(default_factory=list)
    fill: str | None = None
    stroke: str | None = None
    stroke_width: float = 1.0
    text_colours: list[str] = field(default_factory=list)
    centre: tuple[float, float] | None = None

    @property
    def text(self) -> str:
        return " ".join(self.texts)


def _numbers(text: str) -> list[float]:
    return [float(v) for v in NUMBER.findall(text)]


def _bbox_centre(values: list[float]) -> tuple[float, float]:
    xs, ys = values[0::2], values[1::2]
    return (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2


def _translate(root: ET.Element) -> tuple[float, float]:
    graph = root.find(SVG + "g")
    match = re.search(r"translate\(([-\d.]+)[ ,]([-\d.]+)\)", graph.get("transform", ""))
    return (float(match.group(1)), float(match.group(2))) if match else (0.0, 0.0)


def parse(svg: str) -> tuple[dict[str, Shape], dict[str, Shape], ET.Element]:
    """(nodes by title "nK", edges by title "nI->nJ", the root element). Node centres are in the
    drawing's coordinates after the top-level translate: where the node appears on the page."""
    root = ET.fromstring(svg.encode())
    dx, dy = _translate(root)
    nodes, edges = {}, {}
    for g in root.iter(SVG + "g"):
        kind = g.get("class")
        if kind not in ("node", "edge"):
            continue
        shape = Shape(g.find(SVG + "title").text)
        for t in g.iter(SVG + "text"):
            shape.texts.append((t.text or "").strip())
            shape.text_colours.append((t.get("fill") or "#000000").lower())
        outline = next((g.find(SVG + tag) for tag in ("ellipse", "path", "polygon")
                        if g.find(SVG + tag) is not None), None)
        if outline is not None:
            shape.fill = (outline.get("fill") or "").lower()
            shape.stroke = (outline.get("stroke") or "").lower()
            shape.stroke_width = float(outline.get("stroke-width", "1"))
        if kind == "node":
            if outline.tag == SVG + "ellipse":
                cx, cy = float(outline.get("cx")), float(outline.get("cy"))
            elif outline.tag == SVG + "path":
                cx, cy = _bbox_centre(_numbers(outline.get("d")))
            else:
                cx, cy = _bbox_centre(_numbers(outline.get("points")))
            shape.centre = (round(cx + dx, 2), round(cy + dy, 2))
            nodes[shape.title] = shape
        else:
            edges[shape.title] = shape
    return nodes, edges, root


def centres(svg: str) -> dict[str, tuple[float, float]]:
    """Node title → centre on the page."""
    nodes, _, _ = parse(svg)
    assert nodes, "no <g class='node'> found: not a graphviz SVG?"
    return {title: node.centre for title, node in nodes.items()}


def frame_geometry(svg: str) -> tuple[dict[str, tuple[float, float]], tuple[float, float]]:
    """Node centres on the page, and the page position of the drawing's origin (the top-level
    translate). (The viewBox may still grow at its far edges when neato sizes a long edge label
    beyond the layout's bounding box; that moves nothing that is drawn.)"""
    _, _, root = parse(svg)
    return centres(svg), _translate(root)


def node_title(graph: cg.Graph, name: str) -> str:
    """The SVG title of a node: n + its index in topological order."""
    return f"n{graph.nodes.index(graph.node(name))}"


def edge_title(graph: cg.Graph, child: str, parent: str) -> str:
    return f"{node_title(graph, child)}->{node_title(graph, parent)}"
