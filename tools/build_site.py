#!/usr/bin/env python3
"""Build the course as a static website: every notebook as a page that reads and steps with
nothing running (`python3 run.py site` calls this, then builds the JupyterLite site beside it).

    .venv/bin/python tools/build_site.py build/site [--lite]

What goes in the folder:

- index.html         the course's arc and its notebooks in order, and the ways to run them
- NN_name.html       one page per notebook (nbconvert, template web/templates/compgraph): the
                     notebook as it was last executed, with previous/next links, the math typeset
                     by KaTeX, and every widget drawn from the widget state saved in the notebook
                     by Jupyter's widget manager, so it steps in the page (the still picture stored
                     beside each widget shows where scripts do not run)
- notation.html      the table of symbols (notebooks/NOTATION.md)
- licenses.html      what the pages load, with versions and licences
- assets/            the scripts, styles and fonts the pages load: web/vendor (vendored from npm
                     by tools/vendor_site.py), web/course.*, nbconvert's JupyterLab styles
- lite/              (with --lite: run.py builds the JupyterLite site there; the pages link to it)

Nothing is fetched from the network, at build time or when a page is read. The pages link to
Binder and Colab only when pyproject.toml names the repository (tools/notebook_links.py).
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
VENDOR = WEB / "vendor"
NOTEBOOKS = ROOT / "notebooks"
COURSE = "compgraph · backpropagation from the chain rule"
OUR_CELLS = ("compgraph-links", "compgraph-setup")  # tools/notebook_links.py's two cells
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notebook_links  # noqa: E402  (tools/, beside this file)


class SiteError(Exception):
    """Something in the notebooks that would make a broken page: the build stops and says what."""


def course_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    return sorted(folder.glob("[0-9]*.ipynb"))


def heading(cells: list) -> str:
    for cell in cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise SiteError("a notebook without a '# ' title heading")


def intro(cells: list) -> str:
    """The first paragraph after the title: what the notebook is about, for the contents."""
    for cell in cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            paragraphs = [p.strip() for p in cell.source.split("\n\n")]
            rest = [p for p in paragraphs[1:] if p and not p.startswith(("#", "**", "-"))]
            return rest[0] if rest else ""
    return ""


def short_title(title: str) -> str:
    """'2 · Computational graphs: multiply …' -> '2 · Computational graphs'."""
    return re.split(r"[:,—]", title)[0].strip()


def page_links(notebooks: list[Path]) -> dict[str, str]:
    """Relative links of the notebooks' Markdown, as the site spells them."""
    mapping = {path.name: notebook_links.page_name(path.name) for path in notebooks}
    mapping["NOTATION.md"] = "notation.html"
    return mapping


def rewrite_links(markdown: str, mapping: dict[str, str]) -> str:
    def swap(match: re.Match) -> str:
        target, anchor = (match[2].split("#", 1) + [""])[:2]
        if target in mapping:
            return f"{match[1]}({mapping[target]}{'#' + anchor if anchor else ''})"
        return match[0]
    return re.sub(r"(\]\s*)\(([^)\s]+)\)", swap, markdown)


def prepare_widgets(name: str, notebook, warnings: list[str]) -> int:
    """Decide, for every widget output, what the page shows. The course's widgets (anywidget:
    Stepper, PathExplorer, TrainingExplorer) work from their saved state with no kernel, so the
    page draws them live (the template keeps their still picture for where scripts do not run).
    Any other widget (an ipywidgets slider whose Python callback redraws a panel) would sit dead
    without a kernel, and a widget whose state was not saved would show an error: the page shows
    their still picture instead, and `warnings` says so where there is none (tests/test_site.py
    fails on it). Returns how many widgets are drawn live."""
    state = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    live = 0
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                continue
            model = state.get(view["model_id"])
            if model is not None and model.get("model_module") == "anywidget":
                live += 1
                continue
            del output["data"][WIDGET_VIEW]  # nbconvert then shows the still picture
            if model is None:
                warnings.append(f"{name} cell {index}: the widget's state was not saved "
                                f"(re-execute the notebook with nbconvert, as the README says)")
            if not {"text/html", "image/png"} & set(output["data"]):
                warnings.append(f"{name} cell {index}: a widget with no still picture for a page "
                                f"without a kernel (lessons.with_snapshot gives it one)")
    return live


def run_links(notebook: str, address, lite: bool) -> list[dict[str, str]]:
    found = []
    if lite:
        found.append({"text": "in your browser (JupyterLite)",
                      "href": notebook_links.lite_path(notebook),
                      "title": "Python runs in this browser tab; nothing to install. It downloads "
                               "Python (Pyodide) from the internet when it first starts."})
    if address:
        hosted = notebook_links.links(*address, notebook)
        found.append({"text": "on Binder", "href": hosted["Binder"],
                      "title": "JupyterLab on a temporary server, with everything installed"})
        found.append({"text": "in Colab", "href": hosted["Colab"],
                      "title": "Google Colab (needs a Google account)"})
    if lite:
        found.append({"text": "download the notebook", "href": f"lite/files/{notebook}",
                      "title": "the .ipynb file, for your own JupyterLab", "download": notebook})
    return found


LOCAL = ("on your computer: <code>python3 run.py lab</code> in a copy of the course's "
         "repository")


def credits(address) -> str:
    source = (f' · <a href="https://github.com/{html.escape(address[0])}/'
              f'{html.escape(address[1])}">the course\'s repository</a>' if address else "")
    return ("These pages are the notebooks as they were last run: every widget steps here, in "
            "your browser, from what the notebook saved; nothing runs on a server. "
            f'<a href="licenses.html">What the pages load, and its licences</a>{source}.')


def exporter():
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.template_name = "compgraph"
    config.HTMLExporter.extra_template_basedirs = [str(WEB / "templates")]
    config.HTMLExporter.widget_renderer_url = "assets/embed-amd.js"
    config.HTMLExporter.require_js_url = "assets/require.js"
    config.HTMLExporter.exclude_input_prompt = True
    config.HTMLExporter.exclude_output_prompt = True
    config.HTMLExporter.anchor_link_text = "#"
    return HTMLExporter(config=config)


def environment():
    import jinja2
    folders = [str(WEB / "templates"), str(WEB / "templates" / "compgraph")]
    return jinja2.Environment(loader=jinja2.FileSystemLoader(folders),
                              autoescape=False, keep_trailing_newline=True)


def markdown_html(text: str) -> str:
    from nbconvert.filters.markdown import markdown2html
    return markdown2html(text)


def copy_assets(assets: Path) -> None:
    shutil.copytree(VENDOR, assets, ignore=shutil.ignore_patterns("VENDOR.json"))
    for name in ("course.css", "course.js"):
        shutil.copy2(WEB / name, assets / name)
    # the WebAssembly graphviz, for widgets saved by a kernel without `dot` (course.js)
    shutil.copy2(ROOT / "compgraph" / "static" / "vendor" / "viz.js", assets / "viz.js")
    # JupyterLab's styles for notebook pages, as nbconvert ships them (from the locked nbconvert)
    import nbconvert
    lab = Path(nbconvert.__file__).parent
    candidates = [Path(sys.prefix) / "share" / "jupyter" / "nbconvert" / "templates" / "lab",
                  lab.parent.parent.parent.parent / "share" / "jupyter" / "nbconvert" /
                  "templates" / "lab"]
    static = next((c / "static" for c in candidates if (c / "static" / "index.css").is_file()),
                  None)
    if static is None:
        raise SiteError("nbconvert's lab template (static/index.css) was not found")
    (assets / "jupyterlab.css").write_text(
        "/* JupyterLab's notebook styles and light theme, from nbconvert's lab template */\n"
        + (static / "index.css").read_text(encoding="utf-8") + "\n"
        + (static / "theme-light.css").read_text(encoding="utf-8"), encoding="utf-8")


def plain_page(env, output: Path, name: str, title: str, body: str, site: dict) -> None:
    page = env.get_template("page.html.j2").render(title=title, body=body, site=site)
    (output / name).write_text(page, encoding="utf-8")


def build(output: Path, lite: bool = False, folder: Path = NOTEBOOKS) -> dict:
    """Write the site into `output` (emptied first, except lite/) from the notebooks in `folder`.
    Returns what was built."""
    import nbformat

    started = time.monotonic()
    output.mkdir(parents=True, exist_ok=True)
    for item in output.iterdir():
        if item.name == "lite":
            continue
        shutil.rmtree(item) if item.is_dir() else item.unlink()
    address = notebook_links.repository(ROOT / "pyproject.toml")
    notebooks = course_notebooks(folder)
    if not notebooks:
        raise SiteError(f"no notebooks in {folder}")
    mapping = page_links(notebooks)
    loaded = [nbformat.read(path, as_version=4) for path in notebooks]
    titles = [heading(nb.cells) for nb in loaded]
    entries = [{"href": notebook_links.page_name(path.name), "title": title,
                "short": short_title(title)} for path, title in zip(notebooks, titles)]
    export = exporter()
    env = environment()
    widgets, warnings = {}, []
    for i, (path, notebook) in enumerate(zip(notebooks, loaded)):
        widgets[path.name] = prepare_widgets(path.name, notebook, warnings)
        notebook.cells = [cell for cell in notebook.cells
                          if cell.get("id") not in OUR_CELLS
                          and not set(cell.get("metadata", {}).get("tags", [])) & set(OUR_CELLS)]
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                cell.source = rewrite_links(cell.source, mapping)
        notebook.metadata["title"] = f"{titles[i]} · {COURSE}"
        site = {"course": COURSE, "description": re.sub(r"\s+", " ", intro(notebook.cells))[:300],
                "prev": entries[i - 1] if i else None,
                "next": entries[i + 1] if i + 1 < len(entries) else None,
                "run": run_links(path.name, address, lite), "local": LOCAL,
                "credits": credits(address)}
        body, _ = export.from_notebook_node(notebook, resources={"cg": site})
        (output / entries[i]["href"]).write_text(body, encoding="utf-8")

    site = {"course": COURSE, "prev": None, "next": None, "run": [],
            "local": LOCAL, "credits": credits(address)}
    contents = [{**entry, "intro": markdown_html(rewrite_links(intro(nb.cells), mapping)),
                 "run": run_links(path.name, address, lite)}
                for entry, nb, path in zip(entries, loaded, notebooks)]
    landing = env.get_template("landing.html.j2").render(
        site={**site, "next": entries[0]}, notebooks=contents, lite=lite, address=address,
        pages=notebook_links.pages_url(*address) if address else None,
        first=notebooks[0].name)
    (output / "index.html").write_text(landing, encoding="utf-8")
    notation = NOTEBOOKS / "NOTATION.md"  # the table of symbols, from the repository
    plain_page(env, output, "notation.html", "Symbols",
               markdown_html(rewrite_links(notation.read_text(encoding="utf-8"), mapping)), site)
    record = json.loads((VENDOR / "VENDOR.json").read_text())
    viz = json.loads((ROOT / "compgraph" / "static" / "vendor" / "VIZ.json").read_text())
    plain_page(env, output, "licenses.html", "What these pages load",
               env.get_template("licenses.html.j2").render(record=record, viz=viz), site)
    copy_assets(output / "assets")
    files = [p for p in output.rglob("*") if p.is_file() and "lite" not in
             p.relative_to(output).parts[:1]]
    return {"pages": len(notebooks) + 3, "widgets": widgets, "warnings": warnings,
            "bytes": sum(p.stat().st_size for p in files),
            "seconds": round(time.monotonic() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the folder to write (emptied first)")
    parser.add_argument("--lite", action="store_true",
                        help="link to a JupyterLite site in <output>/lite")
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS,
                        help="build from these notebooks (e.g. freshly executed copies) instead "
                             "of notebooks/")
    args = parser.parse_args(argv)
    try:
        done = build(args.output.resolve(), lite=args.lite, folder=args.notebooks.resolve())
    except SiteError as error:
        print(f"[compgraph] the site was not built: {error}", file=sys.stderr)
        return 1
    for warning in done["warnings"]:
        print(f"[compgraph] warning: {warning}", file=sys.stderr)
    print(f"[compgraph] {done['pages']} pages, {sum(done['widgets'].values())} widgets, "
          f"{done['bytes'] / 1e6:.1f} MB, in {done['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
