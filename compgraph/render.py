"""Static pictures of a graph: `render()` and `legend()`.

A picture is one state of a drawing (compgraph.scene): the layout made once, with one step's texts
and highlights written in. It displays as an <img> of a self-contained SVG (styles inside, the
same on light and dark pages), which JupyterLab shows even in a notebook that was never run or
trusted. Where the kernel's machine has no `dot`, it displays as a small widget that lays the
graph out in the browser (WebAssembly graphviz shipped in the package).
"""

from __future__ import annotations

import base64
import html
import io
import re
from functools import cache
from importlib import resources
from typing import Any

from . import scene as _scene
from .errors import CompgraphError
from .graph import Graph
from .scene import (
    INSTALL_DOT,
    ROLE_STYLE,
    Drawing,
    GraphvizMissing,
    State,
    StateBuilder,
    have_dot,
    run_dot,
    run_dot_bytes,
    state_at,
    trace_scene,
)
from .trace import Trace

__all__ = ["GraphvizMissing", "INSTALL_DOT", "Picture", "legend", "render", "ROLE_STYLE"]


def __getattr__(name: str) -> Any:  # render.LAYOUT_RUNS reads the live counter in scene
    if name == "LAYOUT_RUNS":
        return _scene.LAYOUT_RUNS
    raise AttributeError(name)


@cache
def static_text(name: str) -> str:
    """A file of compgraph/static, as text."""
    return resources.files("compgraph").joinpath("static", name).read_text(encoding="utf-8")


def styled_svg(svg: str) -> str:
    """An SVG that carries its own styles (graph.css) and scales to the width it is given."""
    style = f"<style>{static_text('graph.css')}</style>"
    head_end = svg.index(">", svg.index("<svg")) + 1
    return svg[:head_end] + style + svg[head_end:]


def img_html(svg: str, description: str) -> str:
    """The SVG as an <img> with a data: URL, which JupyterLab's sanitizer lets through in
    notebooks that are not trusted (it drops inline SVG there). The image scales down to the
    column's width, but never below 3/4 of its natural size (graphviz's 10 pt text stays at
    10 px or more): a drawing wider than that scrolls sideways inside its own box. No height cap,
    so every node shows."""
    data = base64.b64encode(svg.encode()).decode()
    least = natural_width_pt(svg)  # 3/4 of the natural width in px (1 pt = 4/3 px)
    least_css = f"min-width: {least:.0f}px; " if least else ""
    return (f'<div class="cg-static" style="max-width: 100%; overflow-x: auto; '
            f'overflow-y: hidden">'
            f'<img src="data:image/svg+xml;base64,{data}" alt="{html.escape(description)}" '
            f'style="display: block; max-width: 100%; {least_css}height: auto"></div>')


def natural_width_pt(svg: str) -> float | None:
    """The least width the SVG may be shown at: graphviz's width in pt (its 10 pt text at 10 px),
    or a width in px as it is (drawings of our own, like the legend); None without a width."""
    head = svg[svg.index("<svg"):svg.index(">", svg.index("<svg"))]
    found = re.search(r'\swidth="([\d.]+)(pt|px)?"', head)
    if not found:
        return None
    value = float(found.group(1))
    return value


class Picture:
    """One drawing in one state. `.svg` is the SVG (needs `dot` in the kernel), `.source` the DOT
    with this state's texts, `.pipe(format=...)` any graphviz format; in a notebook it shows as
    an image, or, without `dot`, as a small widget drawn in the browser."""

    def __init__(self, drawing: Drawing | None, state: State, description: str,
                 svg: str | None = None):
        self.drawing, self.state, self.description = drawing, state, description
        self._svg = svg

    @property
    def source(self) -> str:
        if self.drawing is None:
            raise CompgraphError("this picture has no DOT source")
        return self.drawing.source(self.state.texts, self.state.classes)

    @property
    def svg(self) -> str:
        if self._svg is None:
            if self.drawing is None or self.drawing.svg is None:
                raise GraphvizMissing(INSTALL_DOT)
            self._svg = styled_svg(_scene.apply_state(self.drawing.svg, self.state.texts,
                                                      self.state.classes))
        return self._svg

    @property
    def value(self) -> str:
        """The SVG, as `.svg` (the name the widgets' `.picture.value` had)."""
        return self.svg

    def pipe(self, format: str = "svg", encoding: str | None = None) -> Any:
        """The picture in a graphviz output format (png, pdf, ...), drawn by the kernel's dot."""
        if format == "svg":
            return self.svg if encoding else self.svg.encode()
        out = run_dot_bytes(self.source, format)
        return out.decode(encoding) if encoding else out

    def png(self, colours: int = 64) -> bytes:
        """A small PNG of the picture (dot draws it at 96 dpi on white, then it is reduced to
        `colours` colours: about a quarter of the size, the text as sharp), for views that show
        images but no HTML. The states' highlights are drawn as plain graphviz colours."""
        raw = run_dot_bytes(self.source, "png")
        try:
            from PIL import Image  # matplotlib's own dependency
        except ImportError:
            return raw
        image = Image.open(io.BytesIO(raw)).convert("RGBA")
        flat = Image.new("RGBA", image.size, "white")
        flat.alpha_composite(image)
        out = io.BytesIO()
        flat.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=colours).save(
            out, "PNG", optimize=True)
        return out.getvalue()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        text = repr(self)
        if self._svg is not None or (self.drawing is not None and self.drawing.svg is not None):
            return {"text/html": img_html(self.svg, self.description), "text/plain": text}
        from .widgets import PictureWidget  # without dot: lay out in the browser
        return PictureWidget(self)._repr_mimebundle_()[0] | {"text/plain": text}

    def __repr__(self) -> str:  # short and stable: it is what a plain-text view shows
        if self.drawing is None:
            return "<compgraph.Picture: legend>"
        return f"<compgraph.Picture: {len(self.drawing.edges)} edges>"


def render(graph: Graph, trace: Trace | None = None, step: int | None = None,
           rankdir: str = "LR") -> Picture:
    """The graph as a picture: with a trace and a step, that step highlighted (step None: the
    last); otherwise the values and gradients the graph holds now. rankdir "LR" or "BT"."""
    drawing = Drawing(graph, rankdir)
    if trace is None:
        values = graph.values or {n: n.value for n in graph.nodes
                                  if n.value is not None and n.op is None}
        build = StateBuilder(drawing, values)
        for node, grad in (graph.grads or {}).items():
            build.set_grad(node, grad)
        return Picture(drawing, build.state(), f"the graph of {graph.output.name}")
    if trace.graph is not graph:
        raise CompgraphError("render(graph, trace): the trace was made from another graph")
    if trace and isinstance(trace[0], _scene.TangentStep):
        drawing = Drawing(graph, rankdir, wrt=trace[0].wrt)
    scene = trace_scene(drawing, trace)
    index = len(trace) - 1 if step is None else step
    if not -len(trace) <= index < len(trace):
        raise CompgraphError(f"step {step} is outside the trace (steps 0 to {len(trace) - 1})")
    index %= len(trace)
    return Picture(drawing, state_at(scene, index), scene["steps"][index]["description"])


def legend() -> Picture:
    """A key to the colours and line styles, as a picture (drawn here; needs no `dot`)."""
    rows = [(f'<rect x="4" y="{4 + 20 * i}" width="26" height="14" rx="3" fill="{fill}" '
             f'stroke="{border}" stroke-width="2"/>', text)
            for i, (fill, border, text) in enumerate(ROLE_STYLE.values())]
    lines = [("#0072b2", "", "3.5", "computing now (forward): thick blue border"),
             ("#d55e00", "7 4", "3.5", "edge being traversed (backward): dashed"),
             ("#d55e00", "", "2", "edges done (backward): solid"),
             ("#cc79a7", "", "3.5", "a path (PathExplorer)")]
    for stroke, dash, width, text in lines:
        y = 11 + 20 * len(rows)
        rows.append((f'<line x1="4" y1="{y}" x2="30" y2="{y}" stroke="{stroke}" '
                     f'stroke-width="{width}" stroke-dasharray="{dash}"/>', text))
    height = 20 * len(rows) + 4
    body = "".join(f'{art}<text x="38" y="{15 + 20 * i}" font-size="12" '
                   f'font-family="Helvetica, Arial, sans-serif" fill="#1a1a1a">'
                   f'{html.escape(text)}</text>' for i, (art, text) in enumerate(rows))
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="330" height="{height}" '
           f'viewBox="0 0 330 {height}"><rect width="330" height="{height}" rx="4" '
           f'fill="#ffffff"/>{body}</svg>')
    return Picture(None, State(), "key to the colours and line styles", svg=svg)


def have_kernel_dot() -> bool:
    """Whether the kernel's machine can lay graphs out itself (else the browser does)."""
    return have_dot()


__all__ += ["have_kernel_dot", "run_dot"]
