"""The browser front end's data and files: the scene without `dot`, its size as graphs grow, the
vendored WebAssembly graphviz, the joined ES modules, the standalone export; and one real
browser opening an exported page from file:// with the network blocked, stepping it by buttons
and keys."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
from pathlib import Path

import pytest
import tomllib  # the tests run on 3.11+ (the package itself supports 3.10)
from pictures import CHAIN_INPUTS, CLASSIC_INPUTS, chain_rule_graph, classic_graph

import compgraph as cg
from compgraph import scene, widgets

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "compgraph" / "static"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


@pytest.fixture
def no_graphviz(monkeypatch, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


# --- files ---------------------------------------------------------------------------------------

def test_vendored_viz_matches_its_record():
    record = json.loads((STATIC / "vendor" / "VIZ.json").read_text())
    data = (STATIC / "vendor" / "viz.js").read_bytes()
    assert hashlib.sha256(data).hexdigest() == record["sha256"]
    assert len(data) == record["bytes"]
    assert record["package"] == "@viz-js/viz" and record["license"] == "MIT"
    assert data.startswith(f"/*!\nViz.js {record['version']}".encode())
    assert b"export{" in data.replace(b" ", b"") or b"export {" in data


def test_front_end_modules_are_joined_without_imports():
    for name in widgets.MODULES:
        text = (STATIC / name).read_text()
        assert not re.search(r"^\s*(import|export)\b", text, re.M), name
        assert text.startswith(f"// {name} — "), f"{name} starts by saying what it is"
    esm = widgets.front_end_js()
    assert esm.count("export default") == 1 and esm.rstrip().endswith("};")
    page_js = widgets.front_end_js("entry_export.js")
    assert "export default" not in page_js
    assert "http://" not in esm and "https://" not in esm  # nothing fetched from anywhere
    css = widgets.front_end_css()
    assert "http" not in css
    # JupyterLab's variables, each with a fallback for front ends that lack them
    uses = re.findall(r"var\((--jp-[\w-]+)(,)?", css)
    assert uses and all(comma for _, comma in uses), [v for v, c in uses if not c]


def test_the_package_ships_the_front_end():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    setuptools = config["tool"]["setuptools"]
    assert setuptools["packages"] == ["compgraph", "compgraph.static", "compgraph.static.vendor"]
    patterns = setuptools["package-data"]
    assert {"viz.js", "VIZ.json"} <= set(patterns["compgraph.static.vendor"])
    assert "anywidget>=0.9" in config["project"]["dependencies"]
    shipped = {p.name for p in STATIC.iterdir()
               if any(fnmatch.fnmatch(p.name, pat) for pat in patterns["compgraph.static"])}
    assert set(widgets.MODULES) <= shipped and {"entry_anywidget.js", "entry_export.js"} <= shipped
    assert {"plots.js", "training.js", "training_layout.json"} <= shipped
    assert "anywidget>=0.9" in (ROOT / "requirements.txt").read_text()


# --- the scene ---------------------------------------------------------------------------------

def test_without_dot_the_scene_carries_the_dot_for_the_browser(no_graphviz):
    before = scene.LAYOUT_RUNS
    stepper = cg.Stepper(chain_rule_graph(), **CHAIN_INPUTS)
    assert scene.LAYOUT_RUNS == before
    assert stepper.scene["svg"] == "" and stepper.scene["dot"].startswith("digraph compgraph {")
    assert len(stepper.scene["steps"]) == 8
    for i in range(4):
        assert f'id="n{i}"' in stepper.scene["dot"]
    data, _ = stepper._repr_mimebundle_()
    assert "text/html" not in data  # no picture to fall back on: the short text instead
    assert data["text/plain"] == "<compgraph.Stepper: 8 steps>"
    with pytest.raises(cg.GraphvizMissing):
        _ = stepper.svg


def _chain(n: int) -> cg.Graph:
    x = cg.Input("x")
    node = x
    for i in range(n - 1):
        node = cg.sin(node, name=f"s{i}")
    return cg.Graph(node)


def test_scene_size_grows_linearly(no_graphviz, monkeypatch):
    """frames() kept a full copy of every value per step (0.36 GB at 2k nodes); a scene keeps
    what each step changes. Sizes are measured above the drawing limit on purpose."""
    monkeypatch.setattr(cg.limits, "MAX_DRAW_NODES", 5000)
    sizes = {}
    for n in (500, 1000, 2000):
        g = _chain(n)
        t = g.trace(x=0.1)
        data = scene.trace_scene(scene.Drawing(g), t)
        sizes[n] = len(json.dumps(data, ensure_ascii=False))
    assert 1.8 < sizes[1000] / sizes[500] < 2.3, sizes
    assert 1.8 < sizes[2000] / sizes[1000] < 2.3, sizes
    assert sizes[2000] < 3_000_000, sizes


def test_state_at_agrees_with_going_step_by_step():
    g = classic_graph()
    stepper = cg.Stepper(g, **CLASSIC_INPUTS)
    data = stepper.scene
    running = scene.State(dict(data["base"]["text"]), dict(data["base"]["cls"]))
    for i, delta in enumerate(data["steps"]):
        running = running.apply(delta)
        direct = scene.state_at(data, i)
        assert (running.texts, running.classes) == (direct.texts, direct.classes)


# --- the standalone export ---------------------------------------------------------------

def _urls(page: str) -> set[str]:
    return set(re.findall(r"https?://[^\s\"'<>)\\]+", page))


def test_export_is_one_file_with_no_network(tmp_path):
    stepper = cg.Stepper(chain_rule_graph(), **CHAIN_INPUTS)
    stepper.go(3)
    path = stepper.export_html(tmp_path / "stepper.html")
    page = path.read_text()
    assert _urls(page) <= NAMESPACES, _urls(page) - NAMESPACES
    assert 'id="cg-viz-source"' not in page  # the kernel's SVG is in: no drawing engine needed
    data = json.loads(re.search(r'<script type="application/json" id="cg-data-0">(.*?)</script>',
                                page, re.S).group(1))
    assert data["step"] == 3 and len(data["scene"]["steps"]) == 8
    assert "inputs" not in data["scene"]
    assert widgets.front_end_js("entry_export.js") in page
    assert len(page) < 200_000


def test_export_without_dot_carries_the_drawing_engine(tmp_path, no_graphviz):
    stepper = cg.Stepper(chain_rule_graph(), **CHAIN_INPUTS)
    page = cg.export_html(stepper, tmp_path / "stepper.html").read_text()
    engine = re.search(r'<script type="text/plain" id="cg-viz-source">(.*?)</script>', page, re.S)
    assert engine and engine.group(1).startswith("/*!\nViz.js")
    outside = page.replace(engine.group(1), "")
    assert _urls(outside) <= NAMESPACES


# --- a real browser ---------------------------------------------------------------------

def _open_offline(page_path: Path, check):
    """Open the file in Chromium with every non-file request refused; run check(page)."""
    from playwright.sync_api import sync_playwright
    chromium = os.environ.get("COMPGRAPH_CHROMIUM") or "/usr/bin/chromium"
    problems, refused = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1000, "height": 800})
            context.route(re.compile(r"^(?!file:|blob:|data:).*"),
                          lambda route: (refused.append(route.request.url), route.abort()))
            page = context.new_page()
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.set_default_timeout(20_000)
            page.goto(page_path.as_uri())
            check(page)
        finally:
            browser.close()
    assert refused == [], f"the page asked the network for {refused}"
    assert problems == [], problems


@pytest.mark.parametrize("dot", [True, False], ids=["kernel SVG", "drawn in the page"])
def test_exported_page_steps_offline_by_buttons_and_keys(tmp_path, monkeypatch, dot):
    if not dot:
        empty = tmp_path / "empty-bin"
        empty.mkdir()
        monkeypatch.setenv("PATH", str(empty))
    g = classic_graph()
    reference = classic_graph().trace(**CLASSIC_INPUTS)
    stepper = cg.Stepper(g, **CLASSIC_INPUTS)
    path = stepper.export_html(tmp_path / "classic.html")
    n = len(reference)
    e_value = f"n{g.position[g.output]}-v"

    def check(page):
        from playwright.sync_api import expect
        root = page.locator(".cg-widget[data-kind=stepper]")
        svg = root.locator(".cg-picture svg[role=img]")
        svg.wait_for()
        position = root.locator(".cg-position")
        explanation = root.locator(".cg-explanation")
        expect(position).to_have_text(f"step 1 of {n} · forward 1/5")
        expect(root.locator("button[data-action=prev]")).to_be_disabled()
        expect(root.locator("button[data-action=first]")).to_be_disabled()
        for action in ("first", "prev", "play", "next", "last"):
            button = root.locator(f"button[data-action={action}]")
            assert button.get_attribute("title") and button.get_attribute("aria-label")
        height = explanation.bounding_box()["height"]
        value = svg.locator(f'[data-cg="{e_value}"]')
        assert value.text_content() == "?"
        for i in range(1, n):
            root.locator("button[data-action=next]").click()
            expect(position).to_have_text(re.compile(rf"^step {i + 1} of {n} · "))
            assert explanation.text_content() == reference[i].text
            assert svg.get_attribute("aria-label").startswith(f"step {i + 1} of {n}")
            assert explanation.bounding_box()["height"] == height, "the explanation moved"
        assert value.text_content() == "6"
        expect(root.locator("button[data-action=next]")).to_be_disabled()
        assert "∂e/∂b = 5" in svg.text_content()
        dashed = svg.locator(".edge.cg-current > path")
        assert dashed.count() == 1
        assert dashed.evaluate("p => getComputedStyle(p).strokeDasharray") != "none"
        root.focus()
        page.keyboard.press("Home")
        expect(position).to_have_text(f"step 1 of {n} · forward 1/5")
        assert value.text_content() == "?"
        grads = svg.locator('[data-cg$="-g"]').all_text_contents()
        assert len(grads) == 5 and set(grads) == {""}, "back at the start: no gradient shown"
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        expect(position).to_have_text(f"step 3 of {n} · forward 3/5")
        assert explanation.text_content() == reference[2].text
        page.keyboard.press("End")
        expect(position).to_have_text(f"step {n} of {n} · backward 6/6")
        page.keyboard.press("ArrowLeft")
        expect(position).to_have_text(f"step {n - 1} of {n} · backward 5/6")
        assert "cg-current" in (svg.locator(".edge.cg-current").get_attribute("class") or "")

        # Play and Pause: one toggle that keeps the place
        page.keyboard.press("Home")
        play = root.locator("button[data-action=play]")
        play.click()
        expect(play).to_have_attribute("title", "Pause")
        expect(position).to_have_text(re.compile(rf"^step 3 of {n} "), timeout=5000)
        play.click()
        expect(play).to_have_attribute("title", "Play")
        paused_at = position.text_content()
        page.wait_for_timeout(1500)
        assert position.text_content() == paused_at and not paused_at.startswith("step 1 ")

    _open_offline(path, check)


def test_exported_path_explorer_chooses_paths_offline(tmp_path):
    g = classic_graph()
    explorer = cg.PathExplorer(g, "b", rankdir="BT", **CLASSIC_INPUTS)
    path = cg.export_html(explorer, tmp_path / "paths.html")

    def check(page):
        from playwright.sync_api import expect
        root = page.locator(".cg-widget[data-kind=paths]")
        svg = root.locator(".cg-picture svg[role=img]")
        svg.wait_for()
        chooser = root.locator("select.cg-path")
        assert chooser.locator("option").all_inner_texts() == explorer.scene["labels"]
        assert svg.locator(".edge.cg-path").count() == 4
        expect(root.locator(".cg-explanation")).to_contain_text("sum over 2 paths: ∂e/∂b = 2 + 3")
        chooser.select_option("2")
        expect(root.locator(".cg-position")).to_have_text("path 2 of 2")
        assert svg.locator(".edge.cg-path").count() == 2
        assert root.locator(".cg-explanation").text_content().startswith("e → d → b:")
        assert root.locator(".cg-legend").text_content().count("path") == 1
        root.locator("button[data-action=first]").click()
        expect(root.locator(".cg-position")).to_have_text("all 2 paths")
        assert chooser.input_value() == "0"

    _open_offline(path, check)


def test_export_keeps_names_that_look_like_markup_as_text(tmp_path):
    x = cg.Input("</script><b>x")
    g = cg.Graph(cg.sin(x, name="f"))
    page = cg.Stepper(g, **{"</script><b>x": 0.5}).export_html(tmp_path / "odd.html").read_text()
    assert page.count("</script>") == 2  # the data's and the module's, nothing from the name
    data = json.loads(re.search(r'id="cg-data-0">(.*?)</script>', page, re.S).group(1))
    assert data["scene"]["steps"][0]["explanation"] == "</script><b>x = 0.5"
