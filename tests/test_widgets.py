"""The widgets in the kernel, without a browser: the scene each hands the browser, what `go()`
and the kernel-side properties show, input sliders, argument checks and limits. (The browser
applying the scene is tested in test_frontend.py and test_browser.py.)"""

from __future__ import annotations

import base64
import re

import pytest
from pictures import (
    CHAIN_INPUTS,
    CLASSIC_INPUTS,
    SCALAR_INPUTS,
    XOR_INPUTS,
    chain_rule_graph,
    classic_graph,
    log_graph,
)
from test_render import Drawn

import compgraph as cg


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
    """'step 7 of 22 · backward 2/11', computed from the kinds of the steps."""
    names = {"forward": "forward", "backward": "backward", "tangent": "forward mode"}
    totals = {kind: sum(s.kind == kind for s in trace) for kind in names}
    seen = dict.fromkeys(names, 0)
    result = []
    for i, step in enumerate(trace):
        seen[step.kind] += 1
        result.append(f"step {i + 1} of {len(trace)} · {names[step.kind]} "
                      f"{seen[step.kind]}/{totals[step.kind]}")
    return result


@pytest.mark.parametrize("case", list(CASES))
def test_the_scene_has_one_entry_per_step_and_the_texts_of_the_trace(case):
    build, inputs, rankdir = CASES[case]
    stepper = cg.Stepper(build(), rankdir=rankdir, **inputs)
    reference = build().trace(**inputs)  # an independent trace of the same graph
    steps = stepper.scene["steps"]
    assert len(steps) == len(reference)
    assert [s["explanation"] for s in steps] == [s.text for s in reference]
    assert [s["position"] for s in steps] == expected_positions(reference)
    for s, ref in zip(steps, reference):
        assert s["description"].startswith(s["position"] + ": ")
        assert ref.text.splitlines()[0] in s["description"]

    # every id a step names exists in the drawing
    svg = stepper.scene["svg"]
    ids = set(re.findall(r' id="([^"]+)"', svg))
    named = set(stepper.scene["base"]["text"]) | set(stepper.scene["base"]["cls"]) - {"@"}
    for s in steps:
        named |= set(s["text"]) | (set(s["cls"]) - {"@"})
    assert named <= ids, named - ids

    # the last state shows every gradient of the trace
    last = Drawn(stepper.graph, (stepper.go(len(steps) - 1), stepper.svg)[1])
    for step in reference.backward_steps:
        assert last.grad(step.child.name).startswith(f"∂{stepper.graph.output.name}/∂")


def test_go_clamps_and_the_kernel_reads_back_what_is_shown():
    stepper = cg.Stepper(classic_graph(), **CLASSIC_INPUTS)
    reference = classic_graph().trace(**CLASSIC_INPUTS)
    svgs = []
    for i in range(len(reference)):
        stepper.go(i)
        assert stepper.step == i
        assert stepper.explanation_text == reference[i].text
        svgs.append(stepper.svg)
    assert len(set(svgs)) == len(reference), "every step shows a different picture"
    stepper.go(99)
    assert stepper.step == len(reference) - 1 and stepper.svg == svgs[-1]
    stepper.go(-5)
    assert stepper.step == 0 and stepper.svg == svgs[0]
    stepper.go(3)
    assert stepper.svg == svgs[3], "going back shows exactly the earlier picture"
    assert stepper.position_text == "step 4 of 11 · forward 4/5"


def test_position_labels_read_like_this():
    stepper = cg.Stepper(classic_graph(), **CLASSIC_INPUTS)
    assert [s["position"] for s in stepper.scene["steps"]] == [
        "step 1 of 11 · forward 1/5", "step 2 of 11 · forward 2/5", "step 3 of 11 · forward 3/5",
        "step 4 of 11 · forward 4/5", "step 5 of 11 · forward 5/5",
        "step 6 of 11 · backward 1/6", "step 7 of 11 · backward 2/6",
        "step 8 of 11 · backward 3/6", "step 9 of 11 · backward 4/6",
        "step 10 of 11 · backward 5/6", "step 11 of 11 · backward 6/6"]


def test_a_step_stores_only_what_changed():
    steps = cg.Stepper(chain_rule_graph(), **CHAIN_INPUTS).scene["steps"]
    assert steps[0]["text"] == {"n0-v": "0.5"}  # x = 0.5; nothing else is known yet
    assert steps[1]["text"] == {"n1-v": "0.25", "e0-l": "2x = 1"}  # h, and the edge into it
    assert steps[1]["cls"] == {"n0": "cg-known", "n1": "cg-known cg-current", "e0": "cg-feeding"}
    stepper = cg.Stepper(classic_graph(), **CLASSIC_INPUTS)
    steps = stepper.scene["steps"]
    total = sum(len(s["text"]) + len(s["cls"]) for s in steps)
    full = len(steps) * (len(stepper.scene["base"]["text"]) + len(stepper.scene["base"]["cls"]))
    assert total < full / 3


def test_the_widget_shows_a_picture_where_widgets_cannot_run():
    stepper = cg.Stepper(chain_rule_graph(), **CHAIN_INPUTS)
    data, _ = stepper._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"] == "<compgraph.Stepper: 8 steps>"
    src = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', data["text/html"]).group(1)
    stepper.go(7)
    assert base64.b64decode(src).decode() == stepper.svg  # the last step: everything known
    assert 'alt="step 8 of 8 · backward 4/4: ∂f/∂x = ' in data["text/html"]
    assert "Stepper: 8 steps, shown at the last one. Run the notebook" in data["text/html"]


def test_no_megabyte_asset_in_the_synced_state():
    stepper = cg.Stepper(_vector_net(), rankdir="BT", **XOR_INPUTS)
    state = stepper.get_state()
    assert len(str(state)) < 300_000
    engine = cg.widgets.viz_bytes()
    assert engine[200:260].decode() not in str(state)  # sent only on request, never stored


def test_the_browser_gets_the_drawing_engine_on_request():
    stepper = cg.Stepper(chain_rule_graph(), **CHAIN_INPUTS)
    sent = []
    stepper.send = lambda content, buffers=None: sent.append((content, buffers))
    stepper._on_message(stepper, {"type": "viz"}, [])
    assert sent[0][0] == {"type": "viz"}
    engine = sent[0][1][0]
    assert engine.startswith(b"/*!\nViz.js") and b"instance" in engine
    stepper._on_message(stepper, {"type": "other"}, [])
    assert len(sent) == 1


# --- input sliders --------------------------------------------------------------------------------

def test_input_slider_recomputes_and_stays_on_the_step():
    stepper = cg.Stepper(chain_rule_graph(), sliders=True, **CHAIN_INPUTS)
    assert stepper.scene["inputs"] == [{"name": "x", "min": -1.5, "max": 2.5, "step": 0.01,
                                        "value": 0.5}]
    stepper.go(3)
    before = stepper.svg
    assert stepper.explanation_text == "f = e^g = e^0.2474 = 1.281"
    stepper.inputs = {"x": 1.0}  # what the browser's slider sends
    assert stepper.step == 3
    expected = chain_rule_graph().trace(x=1.0)
    assert stepper.explanation_text == expected[3].text == "f = e^g = e^0.8415 = 2.32"
    assert stepper.svg != before
    assert Drawn(stepper.graph, stepper.svg).value("f") == "2.32"
    assert stepper.scene["inputs"][0]["value"] == 1.0
    assert stepper.scene["svg"] == cg.Stepper(chain_rule_graph(), x=1.0).scene["svg"], \
        "same layout: the browser keeps its drawing"


def test_an_invalid_input_explains_itself_and_never_wedges():
    stepper = cg.Stepper(log_graph(), sliders={"x": (-1, 2, 0.1)}, x=0.5)
    good = log_graph().trace(x=0.5)
    stepper.go(99)
    last, scene_before = stepper.step, stepper.scene
    stepper.inputs = {"x": -0.5}  # log of a negative number
    assert stepper.status.startswith("⚠ x = -0.5: ") and "log" in stepper.status
    assert stepper.status.endswith("\nShowing x = 0.5.")
    assert stepper.scene == scene_before and stepper.step == last  # the last good trace stays
    stepper.go(last - 1)
    assert stepper.explanation_text == good[last - 1].text
    stepper.inputs = {"x": 1.5}  # valid again: recomputed, same step, message gone
    assert stepper.status == ""
    assert stepper.explanation_text == log_graph().trace(x=1.5)[last - 1].text


def test_slider_specs_are_checked():
    g = chain_rule_graph()
    with pytest.raises(cg.CompgraphError, match=r"sliders: no input 'y' was given to this "
                                                r"Stepper \(inputs given: x\)"):
        cg.Stepper(g, sliders={"y": (0, 1, 0.1)}, x=0.5)
    with pytest.raises(cg.CompgraphError, match=r"sliders\['x'\]: need finite min ≤ max and "
                                                r"step > 0, got min=2, max=1, step=0.1"):
        cg.Stepper(g, sliders={"x": (2, 1, 0.1)}, x=0.5)
    with pytest.raises(cg.CompgraphError, match=r"outside the slider's range \[1, 2\]"):
        cg.Stepper(g, sliders={"x": (1, 2, 0.1)}, x=0.5)
    with pytest.raises(cg.CompgraphError, match=r"expected \(min, max, step\) numbers"):
        cg.Stepper(g, sliders={"x": (0, 1)}, x=0.5)
    with pytest.raises(cg.CompgraphError, match="True or a dict"):
        cg.Stepper(g, sliders=[1, 2], x=0.5)
    net = cg.nn.sigmoid_net()
    with pytest.raises(cg.CompgraphError, match="is not a number"):
        cg.Stepper(net.graph, sliders={"X": (0, 1, 0.1)}, **XOR_INPUTS)


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
    assert stepper.position_text == "step 1 of 5 · forward mode 1/5"
    stepper.go(4)
    assert stepper.position_text == "step 5 of 5 · forward mode 5/5"
    assert stepper.explanation_text.splitlines()[-1].startswith("∂e/∂b = ")
    assert stepper.explanation_text.endswith("= 5")
    assert Drawn(stepper.graph, stepper.svg).grad("e") == "∂e/∂b = 5"


def test_path_explorer_lists_both_paths_and_their_sum():
    g = classic_graph()
    explorer = cg.PathExplorer(g, "b", **CLASSIC_INPUTS)
    assert len(explorer.paths) == 2 and explorer.chooser.value == -1
    text = explorer.explanation_text
    assert "e → c → b:  ∂e/∂c · ∂c/∂b = 2 × 1 = 2" in text
    assert "e → d → b:  ∂e/∂d · ∂d/∂b = 3 × 1 = 3" in text
    assert text.splitlines()[-1] == "sum over 2 paths: ∂e/∂b = 2 + 3 = 5  (backward gives 5)"
    assert explorer.scene["labels"] == ["all 2 paths", "path 1: e → c → b",
                                        "path 2: e → d → b"]
    all_svg = explorer.picture.value
    d = Drawn(g, all_svg)
    assert {k for k, c in d.classes.items() if "cg-path" in c} == {
        d.edge("c", "e"), d.edge("b", "c"), d.edge("d", "e"), d.edge("b", "d")}
    for value, names in ((0, "ecb"), (1, "edb")):
        explorer.chooser.value = value
        assert explorer.step == value + 1
        assert "sum over" not in explorer.explanation_text
        assert explorer.explanation_text.startswith(" → ".join(names))
        d = Drawn(g, explorer.picture.value)
        assert {k for k, c in d.classes.items() if "cg-path" in c} == {
            d.edge(names[1], names[0]), d.edge(names[2], names[1])}
    explorer.chooser.value = -1
    assert explorer.picture.value == all_svg
    shown = explorer.picture._repr_mimebundle_()  # display(explorer.picture): an image
    assert set(shown) == {"text/html", "text/plain"} and "<img src=" in shown["text/html"]
    with pytest.raises(cg.CompgraphError, match="-1 .all paths. or 0 to 1, got 2"):
        explorer.chooser.value = 2


def test_path_explorer_limit_counts_before_listing():
    x = cg.Input("x")
    node = x
    for i in range(6):  # 2**6 = 64 paths from the top down to x
        node = cg.add(cg.sin(node, name=f"s{i}"), cg.cos(node, name=f"c{i}"), name=f"a{i}")
    g = cg.Graph(node)
    with pytest.raises(cg.SizeError, match=r"PathExplorer from 'a5' down to 'x': 64 paths, more "
                                           r"than the limit of 50; explore a smaller graph"):
        cg.PathExplorer(g, "x", x=0.3)


def test_export_refuses_what_it_cannot_export(tmp_path):
    with pytest.raises(cg.CompgraphError,
                       match="takes a Stepper, PathExplorer or TrainingExplorer, got int"):
        cg.export_html(3, tmp_path / "x.html")
