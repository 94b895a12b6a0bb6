"""The widgets in the kernel, without a browser: buttons are clicked programmatically and what the
widgets would show (SVG, position label, explanation) is read back from their models."""

from __future__ import annotations

import html
import re
import statistics
import time

import ipywidgets as widgets
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
    log_graph,
    parse,
)

import compgraph as cg
from compgraph.render import PATH_COLOUR, Renderer, frames


def shown_text(fragment: str) -> str:
    """The text an HTML widget shows: <br> as line breaks, tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<br\s*/?>", "\n", fragment)))


def _scalar_net():
    return cg.nn.scalar_sigmoid_net().graph


def _vector_net():
    return cg.nn.sigmoid_net().graph


CASES = {  # graph builder, inputs, rankdir
    "chain rule": (chain_rule_graph, CHAIN_INPUTS, "LR"),
    "classic": (classic_graph, CLASSIC_INPUTS, "LR"),
    "xor vector": (_vector_net, XOR_INPUTS, "BT"),
    "xor scalar": (_scalar_net, SCALAR_INPUTS, "LR"),
}


def expected_positions(trace: cg.Trace) -> list[str]:
    """'forward 3/4', 'backward 2/4', ... computed from the kinds of the steps."""
    names = {"forward": "forward", "backward": "backward", "tangent": "forward mode"}
    totals = {kind: sum(s.kind == kind for s in trace) for kind in names}
    seen = dict.fromkeys(names, 0)
    result = []
    for step in trace:
        seen[step.kind] += 1
        result.append(f"{names[step.kind]} {seen[step.kind]}/{totals[step.kind]}")
    return result


@pytest.mark.parametrize("case", list(CASES))
def test_stepping_through_every_step(case):
    build, inputs, rankdir = CASES[case]
    stepper = cg.Stepper(build(), rankdir=rankdir, **inputs)
    reference = build().trace(**inputs)  # an independent trace of the same graph
    n = len(reference)
    assert len(stepper.trace) == n
    positions = expected_positions(reference)
    layout = centres(stepper.svg)

    svgs = []
    for i in range(n):
        if i:
            stepper.next_button.click()
        assert stepper.step == i
        assert stepper.position.value == positions[i]
        assert stepper.explanation_text == stepper.trace[i].text == reference[i].text
        assert shown_text(stepper.explanation.value) == reference[i].text
        assert centres(stepper.svg) == layout, f"{case}: step {i} moved a node"
        svgs.append(stepper.svg)
    assert len(set(svgs)) == n, "every step draws a different picture"

    stepper.next_button.click()  # past the end: stays on the last step
    assert stepper.step == n - 1 and stepper.svg == svgs[-1]
    for i in reversed(range(n - 1)):
        stepper.previous_button.click()
        assert stepper.step == i
        assert stepper.svg == svgs[i], "previous shows exactly the earlier picture"
        assert shown_text(stepper.explanation.value) == reference[i].text
        assert stepper.position.value == positions[i]
    stepper.previous_button.click()  # before the start: stays on the first
    assert stepper.step == 0 and stepper.svg == svgs[0]

    stepper.last_button.click()
    assert stepper.step == n - 1 and stepper.svg == svgs[-1]
    assert stepper.position.value.startswith("backward ")
    stepper.first_button.click()
    assert stepper.step == 0 and stepper.svg == svgs[0]
    assert stepper.position.value == f"forward 1/{len(reference.forward_steps)}"
    stepper.slider.value = 3  # the step slider (and Play, linked to it in the browser)
    assert stepper.svg == svgs[3] and stepper.explanation_text == reference[3].text
    assert stepper.renderer.layouts_computed == 1


def test_position_labels_read_like_this():
    stepper = cg.Stepper(classic_graph(), **CLASSIC_INPUTS)
    labels = []
    for _ in range(len(stepper.trace)):
        labels.append(stepper.position.value)
        stepper.next_button.click()
    assert labels == ["forward 1/5", "forward 2/5", "forward 3/5", "forward 4/5", "forward 5/5",
                      "backward 1/6", "backward 2/6", "backward 3/6", "backward 4/6",
                      "backward 5/6", "backward 6/6"]


def test_buttons_and_play_have_tooltips():
    stepper = cg.Stepper(chain_rule_graph(), **CHAIN_INPUTS)
    tips = {b.tooltip for b in (stepper.first_button, stepper.previous_button,
                                stepper.next_button, stepper.last_button)}
    assert tips == {"First step", "Previous step", "Next step", "Last step"}
    assert stepper.first_button.tooltip == "First step"
    assert stepper.previous_button.tooltip == "Previous step"
    assert stepper.next_button.tooltip == "Next step"
    assert stepper.last_button.tooltip == "Last step"
    assert isinstance(stepper.play, widgets.Play) and stepper.play.tooltip == "Play"
    assert (stepper.play.min, stepper.play.max) == (0, len(stepper.trace) - 1)
    controls = stepper.children[0].children
    assert stepper.play in controls and stepper.next_button in controls


@pytest.mark.parametrize("case", ["chain rule", "xor vector"])
def test_play_interval_is_longer_than_a_render(case):
    build, inputs, rankdir = CASES[case]
    graph = build()
    stepper = cg.Stepper(graph, rankdir=rankdir, **inputs)
    renderer = Renderer(graph, rankdir)
    times = []
    for frame in frames(graph.trace(**inputs)):
        start = time.perf_counter()
        renderer.picture(frame).svg  # noqa: B018 - drawing is the point
        times.append(1000 * (time.perf_counter() - start))
    assert stepper.play.interval > max(times), (stepper.play.interval, max(times))
    assert stepper.play.interval >= 700


# --- input sliders --------------------------------------------------------------------------------

def test_input_slider_recomputes_and_stays_on_the_step():
    stepper = cg.Stepper(chain_rule_graph(), sliders=True, **CHAIN_INPUTS)
    slider = stepper.input_sliders["x"]
    assert isinstance(slider, widgets.FloatSlider) and slider.value == 0.5
    assert slider in stepper.children[-1].children  # shown below the explanation
    for _ in range(3):
        stepper.next_button.click()
    before_svg, before_text = stepper.svg, stepper.explanation_text
    assert before_text == "f = e^g = e^0.2474 = 1.281"
    layout = centres(before_svg)

    slider.value = 1.0
    assert stepper.step == 3
    expected = chain_rule_graph().trace(x=1.0)
    assert stepper.explanation_text == expected[3].text == "f = e^g = e^0.8415 = 2.32"
    assert shown_text(stepper.explanation.value) == expected[3].text
    assert stepper.svg != before_svg and centres(stepper.svg) == layout
    assert "2.32" in parse(stepper.svg)[0]["n3"].text
    stepper.last_button.click()
    assert stepper.explanation_text == expected[-1].text
    assert stepper.renderer.layouts_computed == 1


def test_an_invalid_input_explains_itself_and_never_wedges():
    g = log_graph()
    stepper = cg.Stepper(g, sliders={"x": (-1, 2, 0.1)}, x=0.5)
    good = log_graph().trace(x=0.5)
    slider = stepper.input_sliders["x"]
    assert (slider.min, slider.max, slider.step) == (-1, 2, 0.1)
    stepper.last_button.click()
    last = stepper.step
    svg_before = stepper.svg

    slider.value = -0.5  # log of a negative number
    message = shown_text(stepper.explanation.value)
    assert message.startswith("⚠") and "log" in message and "-0.5" in message
    assert "#B00020" in stepper.explanation.value
    assert stepper.step == last and stepper.svg == svg_before  # the last good picture stays

    stepper.previous_button.click()  # the controls still work, on the last good trace
    assert stepper.step == last - 1
    assert shown_text(stepper.explanation.value) == good[last - 1].text
    _, edges, _ = parse(stepper.svg)
    assert edges[edge_title(g, "x", "l")].text == "1/x = 2"  # x = 0.5, not the rejected -0.5
    stepper.next_button.click()
    assert stepper.step == last and stepper.svg == svg_before

    slider.value = 1.5  # a valid value again: recomputed, same step
    fresh = log_graph().trace(x=1.5)
    assert stepper.step == last and stepper.explanation_text == fresh[last].text
    assert shown_text(stepper.explanation.value) == fresh[last].text
    stepper.first_button.click()
    assert stepper.explanation_text == "x = 1.5"


def test_stepper_arguments_are_checked():
    g = classic_graph()
    with pytest.raises(cg.CompgraphError, match="mode"):
        cg.Stepper(g, mode="sideways", **CLASSIC_INPUTS)
    with pytest.raises(cg.CompgraphError, match="wrt"):
        cg.Stepper(g, mode="forward", **CLASSIC_INPUTS)
    with pytest.raises(cg.CompgraphError):
        cg.Stepper(g, a=2.0)  # b missing


# --- forward mode, paths, training ----------------------------------------------------------------

def test_forward_mode_stepper_ends_with_the_derivative_by_b():
    stepper = cg.Stepper(classic_graph(), mode="forward", wrt="b", **CLASSIC_INPUTS)
    assert stepper.position.value == "forward mode 1/5"
    stepper.last_button.click()
    assert stepper.position.value == "forward mode 5/5"
    text = stepper.explanation_text
    assert text.splitlines()[-1].startswith("∂e/∂b = ")
    assert text.endswith("= 5")
    assert shown_text(stepper.explanation.value) == text
    svgs = set()
    for _ in range(len(stepper.trace)):
        svgs.add(stepper.svg)
        stepper.previous_button.click()
    assert len(svgs) == 5


def test_path_explorer_lists_both_paths_and_their_sum():
    g = classic_graph()
    explorer = cg.PathExplorer(g, "b", **CLASSIC_INPUTS)
    assert len(explorer.paths) == 2
    text = explorer.explanation_text
    assert "e → c → b:  ∂e/∂c · ∂c/∂b = 2 × 1 = 2" in text
    assert "e → d → b:  ∂e/∂d · ∂d/∂b = 3 × 1 = 3" in text
    assert text.splitlines()[-1] == "sum over 2 paths: ∂e/∂b = 2 + 3 = 5  (backward gives 5)"
    assert shown_text(explorer.explanation.value) == text

    all_svg = explorer.picture.value
    chosen = {}
    for label, value in explorer.chooser.options[1:]:
        explorer.chooser.value = value
        chosen[label] = explorer.picture.value
        assert explorer.picture.value != all_svg
        assert "sum over" not in explorer.explanation_text
        assert explorer.explanation_text.startswith(label)
        _, edges, _ = parse(explorer.picture.value)
        marked = {k for k, e in edges.items() if e.stroke == PATH_COLOUR.lower()}
        names = label.split(" → ")
        assert marked == {edge_title(g, lo, hi) for hi, lo in zip(names, names[1:])}
        assert centres(explorer.picture.value) == centres(all_svg)
    assert set(chosen) == {"e → c → b", "e → d → b"}
    assert len(set(chosen.values())) == 2
    explorer.chooser.value = -1
    assert explorer.picture.value == all_svg


# --- timing, for the record -----------------------------------------------------------------------

def test_step_time_on_the_xor_network(capsys):
    """Median and p95 time of one click on the vector-level XOR net (rankdir BT), each step
    drawn for the first time. Printed, not asserted: timings depend on the machine."""
    stepper = cg.Stepper(_vector_net(), rankdir="BT", **XOR_INPUTS)
    times = []
    for _ in range(len(stepper.trace) - 1):
        start = time.perf_counter()
        stepper.next_button.click()
        times.append(1000 * (time.perf_counter() - start))
    cached = []
    for _ in range(len(stepper.trace) - 1):
        start = time.perf_counter()
        stepper.previous_button.click()
        cached.append(1000 * (time.perf_counter() - start))
    p95 = statistics.quantiles(times, n=20)[-1]
    with capsys.disabled():
        print(f"\n[xor step time] {len(times)} steps: median {statistics.median(times):.1f} ms, "
              f"p95 {p95:.1f} ms, max {max(times):.1f} ms; revisited (cached) median "
              f"{statistics.median(cached):.2f} ms; Play interval {stepper.play.interval} ms")
    assert len(times) == 21
