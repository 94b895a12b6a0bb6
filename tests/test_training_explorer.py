"""TrainingExplorer: the data the kernel sends (shapes, size, every number the engine's own), the
clear errors for bad knobs, retraining in the kernel, and a real drag of the epoch slider in
Chromium on the explorer's standalone page."""

from __future__ import annotations

import json
import math
import os
import re

import numpy as np
import pytest

import compgraph as cg
from compgraph import nn, training

EPOCHS = 600  # enough for the boundary to move a lot, quick to train in the kernel


@pytest.fixture(scope="module")
def explorer():
    return cg.TrainingExplorer(seed=0, lr=1.0, epochs=EPOCHS)


@pytest.fixture(scope="module")
def unpacked(explorer):
    return training.unpack(explorer.payload)


def text_at(data, snapshot, sample, node, which):
    """The text the browser shows for node (value 0 / gradient 1) at one snapshot and sample."""
    per = 2 * len(data["nodes"])
    start = (snapshot * len(data["samples"]) + sample) * per
    return data["strings"][data["texts"][start + 2 * data["nodes"].index(node) + which]]


# --- what the kernel sends ----------------------------------------------------------------------

@pytest.mark.parametrize("epochs", [1, 7, 200, 201, 2000, 2001, 2500, 20_000])
def test_snapshots_are_evenly_spaced_and_end_at_the_last_epoch(epochs):
    chosen = training.snapshot_epochs(epochs)
    assert chosen[0] == 0 and chosen[-1] == epochs
    assert len(chosen) <= training.MAX_SNAPSHOTS + 1
    steps = set(np.diff(chosen[:-1])) if len(chosen) > 2 else set()
    assert len(steps) <= 1  # one spacing, the last gap may be shorter
    assert all(0 < b - a <= math.ceil(epochs / (training.MAX_SNAPSHOTS - 1))
               for a, b in zip(chosen, chosen[1:]))
    if epochs <= training.MAX_SNAPSHOTS - 1:
        assert chosen == list(range(epochs + 1))


def test_payload_shapes(explorer, unpacked):
    data, cells = unpacked
    n = len(data["snapshots"])
    assert data["epochs"] == EPOCHS and data["snapshots"] == training.snapshot_epochs(EPOCHS)
    assert len(data["losses"]) == EPOCHS + 1
    assert np.allclose(data["losses"], explorer.history.losses, rtol=1e-3)
    assert len(data["lossTexts"]) == len(data["correct"]) == len(data["predictions"]) == n
    assert all(len(p) == 4 for p in data["predictions"])
    assert cells.shape == (n, training.GRID_SIZE ** 2) and cells.dtype == np.uint8
    assert len(data["texts"]) == n * 4 * 2 * len(data["nodes"])
    assert max(data["texts"]) == len(data["strings"]) - 1
    assert sorted(data["nodes"]) == sorted(n.name for n in nn.sigmoid_net().graph.nodes)
    assert [node["name"] for node in data["layout"]["nodes"]] == data["nodes"]
    assert data["knobs"] == {"seed": 0, "lr": 1.0, "epochs": EPOCHS}


def test_payload_stays_small_for_2000_epochs():
    explorer = cg.TrainingExplorer(seed=3, lr=1.0, epochs=2000)
    size = len(explorer.payload)
    # the notebook stores the bytes as base64 (4/3 larger); well under 1 MB either way
    assert size < 300_000, size
    data, cells = training.unpack(explorer.payload)
    assert len(data["snapshots"]) == 201
    print(f"\n[training payload] 2000 epochs: {size / 1000:.0f} kB compressed, "
          f"{len(json.dumps(data)) / 1000:.0f} kB of JSON and {cells.nbytes / 1000:.0f} kB of "
          f"grids before compression")


def test_graph_texts_are_the_engines_trace_at_that_epoch_and_sample(explorer, unpacked):
    data, _ = unpacked
    history = explorer.history
    for k in (0, 1, len(data["snapshots"]) // 2, len(data["snapshots"]) - 1):
        epoch = data["snapshots"][k]
        for sample in range(4):
            net = nn.sigmoid_net(history.theta1[epoch], history.theta2[epoch])
            steps = net.graph.trace(X=nn.XOR_X[sample:sample + 1], y=nn.XOR_Y[sample:sample + 1])
            for step in steps.forward_steps:
                name = step.node.name
                assert text_at(data, k, sample, name, 0) == cg.fmt(step.value), (epoch, name)
                assert text_at(data, k, sample, name, 1) == cg.fmt(net.graph.grad(step.node))


@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (1, 3), (3, 1), (3, 2), (2, 3)])
def test_quick_number_texts_are_fmts(shape):
    rng = np.random.default_rng(len(shape) * 10 + shape[0] + shape[1])
    for scale in (1e-7, 1e-4, 0.01, 1.0, 37.0, 1e5, 1e12):
        value = rng.normal(0.0, scale, shape)
        value.flat[0] = -0.0
        assert training.number_text(value) == cg.fmt(value)
    assert training.number_text(0.25) == cg.fmt(0.25)


def test_plots_data_match_the_network(explorer, unpacked):
    data, cells = unpacked
    history = explorer.history
    grid = training.grid_points()
    for k, epoch in enumerate(data["snapshots"]):
        surface = nn.predict(history.theta1[epoch], history.theta2[epoch], grid).ravel()
        assert np.abs(cells[k].astype(float) - 255 * surface).max() <= 0.5 + 1e-9
        four = nn.predict(history.theta1[epoch], history.theta2[epoch], nn.XOR_X).ravel()
        assert data["predictions"][k] == [cg.fmt(float(p)) for p in four]
        assert data["correct"][k] == history.correct(epoch)
        assert data["lossTexts"][k] == cg.fmt(history.losses[epoch])
    # the boundary really moves during training
    assert np.abs(cells[0].astype(int) - cells[-1].astype(int)).max() > 100


def test_a_given_history_is_shown_as_it_is():
    history = nn.train_xor(seed=5, lr=0.5, epochs=40)
    explorer = cg.TrainingExplorer(history)
    assert explorer.history is history
    data, _ = training.unpack(explorer.payload)
    assert data["epochs"] == 40 and data["snapshots"] == list(range(41))
    assert data["losses"] == [float(f"{c:.4g}") for c in history.losses]
    assert explorer.epoch == 40


def test_shipped_layout_is_what_dot_makes_of_the_network():
    """The explorer draws from a layout shipped with the package (no dot needed); it must be
    the current network's, with every label as the drawing code writes it. Positions may differ
    a little between graphviz versions; compgraph.training.write_graph_layout() writes it anew."""
    shipped, fresh = training.graph_layout(), training.compute_graph_layout()
    strip = ("x", "y", "w", "h", "end", "points", "labelAt")

    def structure(layout):
        return {"nodes": [{k: v for k, v in n.items() if k not in strip}
                          for n in layout["nodes"]],
                "edges": [{k: v for k, v in e.items() if k not in strip}
                          for e in layout["edges"]], "output": layout["output"]}
    assert structure(shipped) == structure(fresh)
    for a, b in zip(shipped["nodes"], fresh["nodes"]):
        assert all(abs(a[k] - b[k]) <= 20 for k in ("x", "y", "w", "h")), (a, b)
    assert abs(shipped["width"] - fresh["width"]) <= 40
    assert abs(shipped["height"] - fresh["height"]) <= 40


def test_no_dot_needed(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot there
    explorer = cg.TrainingExplorer(seed=0, epochs=50)
    data, _ = training.unpack(explorer.payload)
    assert data["layout"] == training.graph_layout()  # the shipped layout
    with pytest.raises(cg.CompgraphError, match="dot"):
        training.compute_graph_layout()  # what would have needed it


# --- bad knobs: clear errors -------------------------------------------------------------------

@pytest.mark.parametrize("knobs, words", [
    ({"lr": "1"}, r"learning rate lr must be a number, got str '1'"),
    ({"epochs": 2.5}, r"epochs must be a whole number, got float 2\.5"),
    ({"epochs": 3.0}, r"epochs must be a whole number, got float 3\.0 \(write 3\)"),
    ({"epochs": 0}, r"epochs must be from 1 to 20,000, got 0"),
    ({"epochs": 10 ** 6}, r"epochs must be from 1 to 20,000, got 1000000"),
    ({"epochs": True}, r"epochs must be a whole number, got bool True"),
    ({"seed": -1}, r"seed must be at least 0, got -1"),
    ({"seed": "3"}, r"seed must be a whole number, got str '3'"),
    ({"lr": 0}, r"positive finite number, got 0"),
    ({"lr": -0.5}, r"positive finite number, got -0\.5"),
    ({"lr": float("nan")}, r"positive finite number, got nan"),
    ({"lr": float("inf")}, r"positive finite number, got inf"),
    ({"lr": [1.0]}, r"lr must be a number, got list \[1\.0\]"),
])
def test_bad_knobs_raise_clear_errors(knobs, words):
    with pytest.raises(cg.CompgraphError, match=words):
        cg.TrainingExplorer(**knobs)


@pytest.mark.parametrize("history, words", [
    (nn.History([], [], []), r"History must hold the start and at least one epoch.*got 0 costs"),
    (nn.History([0.7], [np.zeros((3, 2))], [np.zeros((3, 1))]), r"got 1 costs"),
    (nn.History([0.7, 0.6], [np.zeros((3, 2))] * 2, [np.zeros((3, 1))]), r"1 θ2"),
    (nn.History([0.7, 0.6], [np.zeros((2, 2))] * 2, [np.zeros((3, 1))] * 2),
     r"θ1 at epoch 0 has shape \(2, 2\); the 2-2-1 network needs \(3, 2\)"),
    ([0.7, 0.6], r"expected an nn.History \(what cg.nn.train_xor returns\), got list"),
])
def test_bad_histories_raise_clear_errors(history, words):
    with pytest.raises(cg.CompgraphError, match=words):
        cg.TrainingExplorer(history)


def test_history_and_knobs_together_are_refused():
    with pytest.raises(cg.CompgraphError, match="either a History or the knobs"):
        cg.TrainingExplorer(nn.train_xor(0, 1.0, 5), seed=1)


@pytest.mark.parametrize("typed, words", [
    (("x", "1", "100"), r"seed must be a whole number, got 'x'"),
    (("1", "fast", "100"), r"learning rate η must be a number, got 'fast'"),
    (("1", "1", "2.5"), r"epochs must be a whole number, got '2.5'"),
    (("1", "1", ""), r"epochs must be a whole number, got ''"),
    (("1", "-1", "100"), r"positive finite number, got -1.0"),
    (("1", "nan", "100"), r"positive finite number, got nan"),
])
def test_typed_knobs_give_clear_messages(typed, words):
    with pytest.raises(cg.CompgraphError, match=words):
        training.parse_knobs(*typed)


def test_typed_knobs_that_are_fine():
    assert training.parse_knobs(" 7 ", "0.5", "1_000") == (7, 0.5, 1000)
    assert training.parse_knobs("0", "2", "1") == (0, 2.0, 1)


# --- retraining stays in the kernel ------------------------------------------------------------

def test_retrain_from_the_form_and_from_python():
    explorer = cg.TrainingExplorer(seed=0, lr=1.0, epochs=50)
    before = explorer.payload
    explorer._on_message(explorer, {"kind": "retrain", "seed": "2", "lr": "0.5",
                                    "epochs": "80"}, [])
    assert explorer.status.startswith("trained: seed 2, η = 0.5, 80 epochs")
    assert explorer.payload != before
    data, _ = training.unpack(explorer.payload)
    assert data["epochs"] == 80 and data["knobs"] == {"seed": 2, "lr": 0.5, "epochs": 80}
    assert explorer.history.losses == nn.train_xor(2, 0.5, 80).losses

    shown = explorer.payload
    explorer._on_message(explorer, {"kind": "retrain", "seed": "2", "lr": "1",
                                    "epochs": "2.5"}, [])
    assert explorer.status == "⚠ epochs must be a whole number, got '2.5'"
    assert explorer.payload == shown  # the run shown stays

    with pytest.raises(cg.CompgraphError, match="learning rate lr must be a number"):
        explorer.retrain(seed=1, lr="1", epochs=10)
    assert explorer.payload == shown
    explorer.retrain(seed=4, lr=2.0, epochs=30)
    assert training.unpack(explorer.payload)[0]["knobs"] == {"seed": 4, "lr": 2.0, "epochs": 30}


@pytest.mark.parametrize("lr", ["1e300", "1e308"])
def test_a_huge_learning_rate_gives_a_run_or_a_message_never_a_crash(lr):
    explorer = cg.TrainingExplorer(seed=0, lr=1.0, epochs=20)
    shown = explorer.payload
    explorer._on_message(explorer, {"kind": "retrain", "seed": "0", "lr": lr, "epochs": "50"},
                         [])
    if explorer.status.startswith("⚠"):  # the engine refused a non-finite number: it says where
        assert explorer.payload == shown
        assert re.search(r"node|op|overflow|finite", explorer.status), explorer.status
    else:
        assert explorer.status.startswith("trained: seed 0, η = 1e+")
        assert training.unpack(explorer.payload)[0]["epochs"] == 50


# --- in a real browser -------------------------------------------------------------------------

DRAG_READ = """() => {
  const root = document.querySelector('.cg-widget[data-kind=training]');
  const node = (name, cls) => root.querySelector(`.cg-picture [data-cg="${name}"] text.${cls}`);
  const canvas = root.querySelector('.cg-plot canvas');
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0;
  for (let i = 3; i < pixels.length; i += 4) sum += pixels[i] * (i % 97);
  return {
    slider: Number(root.querySelector('.cg-epoch').value),
    c: node('C', 'cg-value').textContent, theta1: node('θ1', 'cg-grad').textContent,
    marker: Number(root.querySelector('.cg-marker').getAttribute('cx')),
    contour: root.querySelector('.cg-contour').getAttribute('d'),
    heat: sum,
    explanation: root.querySelector('.cg-explanation').textContent,
  };
}"""


def test_dragging_the_epoch_slider_in_chromium(tmp_path, explorer, unpacked):
    from playwright.sync_api import sync_playwright

    data, _ = unpacked
    page_file = tmp_path / "training.html"
    page_file.write_text(explorer.html(), encoding="utf-8")
    chromium = os.environ.get("COMPGRAPH_CHROMIUM") or "/usr/bin/chromium"
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=args)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.route("http*://**", lambda route: route.abort())  # no network
            page.goto(page_file.as_uri())
            page.wait_for_selector(".cg-widget[data-kind=training][data-ready=true]")
            # no kernel here: ask it to train and the page says what it needs
            page.click(".cg-train")
            assert "needs a running kernel" in page.text_content(".cg-status")

            # a real mouse drag from the left end of the slider to the right
            slider = page.locator(".cg-epoch").bounding_box()
            y = slider["y"] + slider["height"] / 2
            page.evaluate("""() => { window.inputs = 0; document.querySelector('.cg-epoch')
                .addEventListener('input', () => { window.inputs += 1; }); }""")
            page.mouse.move(slider["x"] + 2, y)
            page.mouse.down()
            seen = []
            for fraction in (0.0, 0.1, 0.25, 0.5, 0.75, 1.0):
                page.mouse.move(slider["x"] + 2 + fraction * (slider["width"] - 4), y, steps=4)
                seen.append(page.evaluate(DRAG_READ))
            page.mouse.up()
            assert page.evaluate("window.inputs") >= 6  # updates while dragging, not on release

            # the buttons step through the snapshots and are disabled at the ends
            count = len(data["snapshots"])
            for action in ("first", "prev", "play", "next", "last"):
                button = f".cg-controls button[data-action={action}]"
                assert page.get_attribute(button, "title")
                assert page.get_attribute(button, "aria-label")
            assert page.is_disabled("[data-action=next]")
            assert page.is_disabled("[data-action=last]")
            page.click("[data-action=first]")
            assert page.input_value(".cg-epoch") == "0"
            assert page.is_disabled("[data-action=first]")
            assert page.is_disabled("[data-action=prev]")
            assert not page.is_disabled("[data-action=next]")
            page.click("[data-action=next]")
            page.click("[data-action=next]")
            page.click("[data-action=prev]")
            assert page.input_value(".cg-epoch") == "1"
            assert page.text_content(".cg-position") == (
                f"snapshot 2 of {count} · epoch {data['snapshots'][1]} of {EPOCHS}")
            page.click("[data-action=last]")
            assert page.input_value(".cg-epoch") == str(count - 1)
            page.click("[data-action=first]")

            # zoom: larger, then back to fitting the box; text never below 10 px
            width = lambda: page.evaluate(  # noqa: E731
                "document.querySelector('.cg-picture svg').getBoundingClientRect().width")
            fitted = width()
            page.click("[data-action=zoom-in]")
            assert width() > 1.2 * fitted
            page.click("[data-action=fit]")
            assert width() == fitted
            for _ in range(6):
                page.click("[data-action=zoom-out]")
            smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll(
                '.cg-picture svg text')].map((t) => t.getBoundingClientRect().height))""")
            assert smallest >= 10 * 0.95, smallest  # a text box is about its font size high
            page.click("[data-action=fit]")

            # Play runs through the snapshots from the start; Pause keeps the place
            page.click(".cg-play")
            assert page.get_attribute(".cg-play", "aria-pressed") == "true"
            page.wait_for_function("Number(document.querySelector('.cg-epoch').value) >= 5")
            page.click(".cg-play")
            assert page.get_attribute(".cg-play", "aria-pressed") == "false"
            kept = page.evaluate(DRAG_READ)
            page.wait_for_timeout(300)
            assert page.evaluate(DRAG_READ) == kept
            assert 5 <= kept["slider"] < len(data["snapshots"]) - 1
            assert kept["c"] == f"C = BCE(L3, y) = {text_at(data, kept['slider'], 0, 'C', 0)}"
        finally:
            browser.close()
    assert problems == []
    n = len(data["snapshots"])
    assert seen[0]["slider"] == 0 and seen[-1]["slider"] == n - 1
    assert len({s["slider"] for s in seen}) == len(seen)
    markers = [s["marker"] for s in seen]
    assert markers == sorted(markers) and markers[0] < markers[-1]
    span = markers[-1] - markers[0]
    for s in seen:
        k, epoch = s["slider"], data["snapshots"][s["slider"]]
        assert s["c"] == f"C = BCE(L3, y) = {text_at(data, k, 0, 'C', 0)}"
        assert s["theta1"].startswith(f"∂C/∂θ1 = {text_at(data, k, 0, 'θ1', 1)[:8]}")
        assert s["explanation"].startswith(f"epoch {epoch} of {EPOCHS}")
        # the marker sits at the epoch's share of the axis
        assert abs((s["marker"] - markers[0]) / span - epoch / EPOCHS) < 0.01
    assert len({s["contour"] for s in seen}) >= 4  # the boundary redraws as the slider moves
    assert len({s["heat"] for s in seen}) >= 4
    assert all(re.fullmatch(r"(M[\d.]+,[\d.]+L[\d.]+,[\d.]+)+", s["contour"]) for s in seen[2:])


def test_views_without_widgets_get_a_picture_and_a_short_text(tmp_path):
    explorer = cg.TrainingExplorer(seed=2, lr=0.5, epochs=120)
    assert repr(explorer) == ("<compgraph.TrainingExplorer: seed 2, η = 0.5, 120 epochs, "
                              "121 snapshots>")
    bundle, _ = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == repr(explorer)
    page = bundle["text/html"]
    assert page.count('<img src="data:image/png;base64,') == 1
    final = training.unpack(explorer.payload)[0]
    assert f"epoch 120, cost C = {final['lossTexts'][-1]}, {final['correct'][-1]}/4" in page
    given = cg.TrainingExplorer(nn.train_xor(1, 1.0, 10))
    assert repr(given) == "<compgraph.TrainingExplorer: a given History, 10 epochs, 11 snapshots>"

    written = cg.export_html(explorer, tmp_path / "training.html")
    text = written.read_text(encoding="utf-8")
    assert text == explorer.html()
    # nothing to fetch: the only addresses are the SVG and XHTML namespace names
    assert set(re.findall(r"https?://[^\s\"'`)]+", text)) == {
        "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xhtml"}
    assert "<script src" not in text and "import(" not in text
