#!/usr/bin/env python3
"""Open-anywhere links and a set-up cell for every notebook, from the repository's one address.

    python3 tools/notebook_links.py          # update notebooks/*.ipynb and README.md in place
    python3 tools/notebook_links.py --check  # change nothing; exit 1 if anything is out of date

The address is `Repository = "https://github.com/<owner>/<name>"` under `[project.urls]` in
pyproject.toml; it is written nowhere else by hand. Without it (the state this repository ships
in, so that a copy never links to a place that does not exist) no hosted link is written at all:
only how to run the notebooks locally. With it, the links point at that repository on Colab and
Binder, and at its GitHub Pages site (`python3 run.py site`, published by
.github/workflows/pages.yml): the notebooks as web pages at https://<owner>.github.io/<name>/ and
JupyterLite under lite/. At the top of each notebook this keeps two cells, recognised by their ids
and tags and rewritten in place on every run (running twice changes nothing):

- a Markdown cell with links that open that notebook in Colab, on Binder, in JupyterLite and as a
  web page (or, with no address, says how to run it locally);
- a code cell that installs compgraph where it cannot be imported (Colab: from the repository;
  JupyterLite: from the site's own package index; with no address it stops with a message saying
  how to install it) and does nothing, printing nothing, where it can (a local JupyterLab,
  Binder, CI), so nbval's stored outputs are unaffected.

In README.md it rewrites what stands between the `<!-- notebook-links:NAME -->` and
`<!-- /notebook-links:NAME -->` markers (NAME = badges, table). After running it, re-execute the
notebooks that changed, as for any edit (README: "Adding a notebook").
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
BRANCH = "main"  # the branch that the links open
LINKS_ID, SETUP_ID = "compgraph-links", "compgraph-setup"  # cell ids, and the cells' tags
PLACEHOLDER = ("OWNER", "REPO")  # what the address was before it was set: the same as none
SETUP_HEAD = """\
# Colab and JupyterLite need the compgraph package installed; anywhere else this does nothing.
try:
    import compgraph
except ImportError:
    import sys
    if sys.platform == "emscripten":  # JupyterLite: from this site's own package index
        %pip install -q compgraph
    else:
"""
SETUP_SOURCE = SETUP_HEAD + """\
        %pip install -q git+https://github.com/{owner}/{repo}"""
# With no repository address there is nowhere to install from: say what to do instead.
SETUP_SOURCE_LOCAL = SETUP_HEAD + """\
        raise ModuleNotFoundError(
            "compgraph is not installed in this Python. Get the course's repository, then run "
            "`python3 run.py lab` in it (it installs everything and opens these notebooks), "
            "or `pip install` the repository's folder into this environment.") from None"""
LOCAL_SOURCE = ("**Run this notebook** on your computer: in a copy of the course's repository, "
                "`python3 run.py lab` installs what it needs and opens the notebooks.")


Address = tuple[str, str]  # (owner, repository name) on GitHub


def repository(pyproject: Path) -> Address | None:
    """(owner, name) from pyproject.toml's `[project.urls] Repository`; None when it is not set
    (or still the old OWNER/REPO placeholder)."""
    url = tomllib.loads(pyproject.read_text())["project"].get("urls", {}).get("Repository")
    if not url:
        return None
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", url)
    if match is None:
        sys.exit(f"{pyproject}: [project.urls] Repository must look like "
                 f"https://github.com/<owner>/<name>, not {url!r}")
    return None if (match[1], match[2]) == PLACEHOLDER else (match[1], match[2])


def pages_url(owner: str, repo: str) -> str:
    """Where .github/workflows/pages.yml publishes the site: the notebooks as web pages, and the
    JupyterLite site in lite/."""
    return f"https://{owner.lower()}.github.io/{repo}/"


def page_name(notebook: str) -> str:
    """The web page of a notebook in the site (tools/build_site.py)."""
    return notebook.removesuffix(".ipynb") + ".html"


def lite_path(notebook: str) -> str:
    """A notebook in the JupyterLite site, relative to the site's root."""
    return f"lite/lab/index.html?path={notebook}"


def links(owner: str, repo: str, notebook: str) -> dict[str, str]:
    path = f"notebooks/{notebook}"
    site = pages_url(owner, repo)
    return {
        "Colab": f"https://colab.research.google.com/github/{owner}/{repo}/blob/{BRANCH}/{path}",
        "Binder": f"https://mybinder.org/v2/gh/{owner}/{repo}/{BRANCH}?urlpath=lab/tree/{path}",
        "JupyterLite": site + lite_path(notebook),
        "web page": site + page_name(notebook),
    }


def links_source(address: Address | None, notebook: str) -> str:
    if address is None:
        return LOCAL_SOURCE
    found = links(*address, notebook)
    return (f"**Open this notebook in** [Colab]({found['Colab']}) · [Binder]({found['Binder']})"
            f" · [JupyterLite]({found['JupyterLite']}) (nothing to install), read it as a "
            f"[web page]({found['web page']}), or run it locally with `python3 run.py lab`.")


def setup_source(address: Address | None) -> str:
    if address is None:
        return SETUP_SOURCE_LOCAL
    return SETUP_SOURCE.format(owner=address[0], repo=address[1])


def lines(text: str) -> list[str]:
    """A cell's source as the notebook format stores it: one string per line."""
    return text.splitlines(keepends=True)


def dumps(notebook: dict) -> str:
    """The notebook as nbformat (and so nbconvert and JupyterLab) writes it, byte for byte."""
    return json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False,
                      separators=(",", ": ")) + "\n"


def update_notebook(path: Path, address: Address | None) -> bool:
    """Put the two cells at the top of the notebook, replacing older versions of them.
    Returns whether the file changed. (Plain JSON: nbformat takes seconds to import.)"""
    before = path.read_text(encoding="utf-8")
    notebook = json.loads(before)
    ours = (LINKS_ID, SETUP_ID)
    kept = [cell for cell in notebook["cells"] if cell.get("id") not in ours
            and not set(cell.get("metadata", {}).get("tags", [])) & set(ours)]
    old = {cell.get("id"): cell for cell in notebook["cells"] if cell.get("id") in ours}
    link_cell = {"cell_type": "markdown", "id": LINKS_ID, "metadata": {"tags": [LINKS_ID]},
                 "source": lines(links_source(address, path.name))}
    setup_cell = {"cell_type": "code", "execution_count": None, "id": SETUP_ID,
                  "metadata": {"tags": [SETUP_ID]}, "outputs": [],
                  "source": lines(setup_source(address))}
    if SETUP_ID in old and old[SETUP_ID].get("source") == setup_cell["source"]:
        setup_cell = old[SETUP_ID]  # keep what an execution stored (its count, no outputs)
    notebook["cells"] = [link_cell, setup_cell, *kept]
    after = dumps(notebook)
    if after == before:
        return False
    path.write_text(after, encoding="utf-8")
    return True


def first_heading(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return next((line[2:].strip() for cell in cells if cell["cell_type"] == "markdown"
                 for line in "".join(cell["source"]).splitlines() if line.startswith("# ")),
                path.stem)


def readme_blocks(address: Address | None, notebooks: list[Path]) -> dict[str, str]:
    if address is None:
        return {"badges": "*To read the course as web pages, or run it with nothing to install, "
                          "publish it: see [Your own copy](#your-own-copy-links-and-publishing)."
                          "*",
                "table": "*Links that open each notebook in Colab, on Binder, in JupyterLite "
                         "and as a web page appear here once this repository's address is set "
                         "(see [Your own copy](#your-own-copy-links-and-publishing)).*"}
    owner, repo = address
    first = notebooks[0].name if notebooks else ""
    binder = links(owner, repo, first)["Binder"]
    site = pages_url(owner, repo)
    badges = (f"[![Launch on Binder](https://mybinder.org/badge_logo.svg)]({binder}) "
              f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
              f"({links(owner, repo, first)['Colab']}) · [the course as web pages]({site}) · "
              f"[in your browser, JupyterLite]({site}lite/lab/index.html)")
    rows = ["| notebook | web page | JupyterLite | Binder | Colab |", "|---|---|---|---|---|"]
    for path in notebooks:
        found = links(owner, repo, path.name)
        rows.append(f"| {first_heading(path)} | [read]({found['web page']}) | "
                    f"[open]({found['JupyterLite']}) | [open]({found['Binder']}) | "
                    f"[open]({found['Colab']}) |")
    return {"badges": badges, "table": "\n".join(rows)}


def update_readme(path: Path, blocks: dict[str, str]) -> bool:
    text = before = path.read_text(encoding="utf-8")
    for name, content in blocks.items():
        pattern = re.compile(rf"(<!-- notebook-links:{name} -->\n).*?(\n<!-- /notebook-links:"
                             rf"{name} -->)", re.S)
        if not pattern.search(text):
            sys.exit(f"{path}: no <!-- notebook-links:{name} --> ... <!-- /notebook-links:{name}"
                     f" --> markers")
        text = pattern.sub(lambda m, c=content: m[1] + c + m[2], text)
    if text == before:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the repository (pyproject.toml, README.md, notebooks/)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    address = repository(root / "pyproject.toml")
    if address is None:
        print("note: no repository address in pyproject.toml ([project.urls] Repository), so no "
              "Colab, Binder, JupyterLite or web-page links are written; set it and run this "
              "again to write them")
    notebooks = sorted((root / "notebooks").glob("*.ipynb"))
    if args.check:
        import shutil
        import tempfile
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch)
            shutil.copytree(root / "notebooks", copy / "notebooks")
            for name in ("pyproject.toml", "README.md"):
                shutil.copy2(root / name, copy / name)
            stale = [path.name for path in sorted((copy / "notebooks").glob("*.ipynb"))
                     if update_notebook(path, address)]
            if update_readme(copy / "README.md", readme_blocks(address, notebooks)):
                stale.append("README.md")
        if stale:
            print("out of date: " + ", ".join(stale) + "; run python3 tools/notebook_links.py")
            return 1
        return 0
    changed = [path.name for path in notebooks if update_notebook(path, address)]
    if update_readme(root / "README.md", readme_blocks(address, notebooks)):
        changed.append("README.md")
    print("updated: " + ", ".join(changed) if changed else "everything was up to date")
    if any(name.endswith(".ipynb") for name in changed):
        print("now re-execute the changed notebooks to store their outputs, e.g.\n"
              "    .venv/bin/jupyter nbconvert --to notebook --execute --inplace "
              "--ExecutePreprocessor.record_timing=False notebooks/NN_name.ipynb")
    return 0


if __name__ == "__main__":
    sys.exit(main())
