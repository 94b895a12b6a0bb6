"""Measurements made inside the page by the browser tests and benchmarks/browser.py: the contrast
of every visible text against what is really painted behind it, the size text is drawn at, what
overflows or is clipped, and where a picture's background is light or dark.

Contrast follows WCAG 2: (L1 + 0.05) / (L2 + 0.05) of relative luminances. The colour behind an
SVG text is that of the filled shapes under the text's centre, painted in document order (the last
on top), over the nearest HTML background of the SVG; behind an HTML text it is the nearest
non-transparent background of its ancestors. A picture shown as an <img> of an SVG (JupyterLab's
SVG renderer, a static fallback) is parsed and measured the same way, in a hidden copy of the same
size inside a shadow root, so that the page's CSS cannot reach it (as it cannot reach the <img>)."""

from __future__ import annotations

from pathlib import Path

_SCRIPT = (Path(__file__).with_name("measure.js")).read_text()


def _call(function: str) -> str:
    """A page function (its argument) -> result, for page.evaluate."""
    return f"(arg) => {{ {_SCRIPT}\nreturn {function}(arg); }}"


# Every visible text in every widget and static picture: [{where, text, fg, bg, ratio, px}]
TEXTS = _call("texts")
# The card behind each widget and picture and the page around it: [{where, page, card}] (luminance)
BACKGROUNDS = _call("backgrounds")
# Sizes: each widget's height, each static picture against its column, clipped parts, text px.
# Argument: [scope selector, allowScroll (parts the learner can scroll to are not clipped)].
GEOMETRY = _call("geometry")
# Each output holding a widget: [{cell, cg (compgraph widgets in it), ipywidget (bool), text}]
WIDGET_OUTPUTS = _call("widgetOutputs")


def failing_contrast(texts: list[dict], minimum: float = 4.5) -> list[str]:
    return [f"{t['where']}: {t['text']!r} {t['fg']} on {t['bg']} = {t['ratio']}:1"
            for t in texts if t["ratio"] < minimum]


def summary(lines: list[str], limit: int = 25) -> str:
    more = f"\n… and {len(lines) - limit} more" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + more
