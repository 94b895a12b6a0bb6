"""tools/notebook_links.py: links and an install cell for hosted notebooks, from one address.

Run on a copy of the notebooks and README: the links name the address in pyproject.toml and the
right notebook, a second run changes nothing, a new address replaces the old everywhere, and the
install cell prints nothing (and installs nothing) where compgraph imports, as nbval requires.
Without an address (as the repository ships) no hosted link is written at all, the install cell
says how to install instead of installing from nowhere, and nothing anywhere links to a
placeholder."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "notebook_links.py"


@pytest.fixture(scope="module")
def links():
    spec = importlib.util.spec_from_file_location("notebook_links", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PLACEHOLDERS = re.compile(r"OWNER/REPO|github\.com/OWNER\b|(?<![<\w-])owner\.github\.io|"
                          r"github\.io/REPO\b")


def with_address(pyproject: str, address: str | None) -> str:
    """pyproject.toml's text with [project.urls] Repository set to `address` (None: unset)."""
    lines = [line for line in pyproject.splitlines() if not line.startswith("Repository = ")]
    if address is not None:
        at = lines.index("[project.urls]") + 1
        lines.insert(at, f'Repository = "{address}"')
    return "\n".join(lines) + "\n"


def copy_of_repository(tmp_path: Path, address: str | None) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy2(ROOT / "README.md", root / "README.md")
    pyproject = (ROOT / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(with_address(pyproject, address))
    return root


def run_script(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--root", str(root), *args],
                          capture_output=True, text=True)


def snapshot(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*")) if path.is_file()}


def without_our_cells(notebook) -> list:
    return [cell for cell in notebook.cells
            if cell.get("id") not in ("compgraph-links", "compgraph-setup")]


def test_every_notebook_gets_its_links_and_the_install_cell_once(tmp_path):
    root = copy_of_repository(tmp_path, "https://github.com/teach-org/backprop-course")
    originals = {path.name: nbformat.read(path, as_version=4)
                 for path in sorted((root / "notebooks").glob("*.ipynb"))}
    assert len(originals) >= 5
    assert run_script(root, "--check").returncode == 1  # another address: out of date
    done = run_script(root)
    assert done.returncode == 0, done.stderr
    for name, original in originals.items():
        notebook = nbformat.read(root / "notebooks" / name, as_version=4)
        link_cell, setup_cell = notebook.cells[:2]
        assert link_cell.cell_type == "markdown" and link_cell.id == "compgraph-links"
        assert "compgraph-links" in link_cell.metadata["tags"]
        path = f"teach-org/backprop-course/blob/main/notebooks/{name}"
        assert f"(https://colab.research.google.com/github/{path})" in link_cell.source
        assert (f"(https://mybinder.org/v2/gh/teach-org/backprop-course/main?urlpath=lab/tree/"
                f"notebooks/{name})") in link_cell.source
        site = "https://teach-org.github.io/backprop-course/"
        assert f"({site}lite/lab/index.html?path={name})" in link_cell.source
        assert f"({site}{name.removesuffix('.ipynb')}.html)" in link_cell.source
        assert setup_cell.cell_type == "code" and setup_cell.id == "compgraph-setup"
        assert "compgraph-setup" in setup_cell.metadata["tags"]
        assert "git+https://github.com/teach-org/backprop-course" in setup_cell.source
        assert setup_cell.outputs == []
        # everything else is untouched, in order (cells the script added before are replaced)
        assert without_our_cells(notebook) == without_our_cells(original)
        assert len(notebook.cells) == len(without_our_cells(original)) + 2
    readme = (root / "README.md").read_text()
    for name in originals:
        assert f"colab.research.google.com/github/teach-org/backprop-course/blob/main/" \
               f"notebooks/{name}" in readme
    assert "OWNER/REPO" not in readme
    assert "https://teach-org.github.io/backprop-course/" in readme  # the pages, for a class


def test_without_an_address_nothing_links_to_a_hosted_copy(links, tmp_path):
    root = copy_of_repository(tmp_path, "https://github.com/someone/course")
    assert run_script(root).returncode == 0
    (root / "pyproject.toml").write_text(with_address((root / "pyproject.toml").read_text(), None))
    done = run_script(root)
    assert done.returncode == 0 and "no repository address" in done.stdout
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        link_cell, setup_cell = notebook.cells[:2]
        assert "http" not in link_cell.source and "python3 run.py lab" in link_cell.source
        assert setup_cell.source == links.SETUP_SOURCE_LOCAL
    readme = (root / "README.md").read_text()
    assert "someone" not in readme and "mybinder.org/v2" not in readme
    # the old placeholder counts as no address
    pyproject = root / "pyproject.toml"
    pyproject.write_text(with_address(pyproject.read_text(), "https://github.com/OWNER/REPO"))
    assert run_script(root, "--check").returncode == 0


def test_nothing_we_ship_links_to_a_placeholder():
    shipped = [ROOT / "README.md", *sorted((ROOT / "notebooks").glob("*.ipynb")),
               *sorted((ROOT / "docs").glob("*.md")), ROOT / "pyproject.toml"]
    found = [f"{path.name}: {match[0]!r}" for path in shipped
             for match in [PLACEHOLDERS.search(path.read_text(encoding="utf-8"))] if match]
    assert found == [], found


def test_a_second_run_changes_nothing_and_a_new_address_replaces_the_old(tmp_path):
    root = copy_of_repository(tmp_path, "https://github.com/first-owner/first-repo")
    assert run_script(root).returncode == 0
    after_first = snapshot(root)
    again = run_script(root)
    assert again.returncode == 0 and "everything was up to date" in again.stdout
    assert snapshot(root) == after_first
    assert run_script(root, "--check").returncode == 0

    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("first-owner/first-repo",
                                                       "second-owner/second-repo"))
    assert run_script(root, "--check").returncode == 1
    assert snapshot(root)["README.md"] == after_first["README.md"]  # --check wrote nothing
    assert run_script(root).returncode == 0
    for path in sorted((root / "notebooks").glob("*.ipynb")) + [root / "README.md"]:
        text = path.read_text()
        assert "first-owner" not in text and "first-repo" not in text, path.name
        assert "second-owner/second-repo" in text, path.name
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        ids = [cell.get("id") for cell in nbformat.read(path, as_version=4).cells]
        assert ids[:2] == ["compgraph-links", "compgraph-setup"]
        assert ids.count("compgraph-setup") == 1 and ids.count("compgraph-links") == 1


def test_a_wrong_address_is_refused(tmp_path):
    root = copy_of_repository(tmp_path, "https://gitlab.com/someone/course")
    done = run_script(root)
    assert done.returncode != 0 and "https://github.com/<owner>/<name>" in done.stderr
    assert "gitlab" not in (root / "notebooks" / "01_chain_rule.ipynb").read_text()


def test_the_install_cell_prints_nothing_where_compgraph_is_installed(links, tmp_path):
    cell = nbformat.v4.new_code_cell(links.SETUP_SOURCE.format(owner="o", repo="r"))
    notebook = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_code_cell(
        "import sys\nprint('compgraph' in sys.modules)")])
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert notebook.cells[0].outputs == []
    assert [output.get("text") for output in notebook.cells[1].outputs] == ["True\n"]


@pytest.mark.parametrize("platform, expected", [
    ("linux", "install -q git+https://github.com/o/r"),
    ("emscripten", "install -q compgraph"),
])
def test_the_install_cell_installs_where_compgraph_is_missing(links, monkeypatch, platform,
                                                              expected):
    """The cell as IPython runs it, with compgraph made unimportable and the magic recorded."""
    python = TransformerManager().transform_cell(links.SETUP_SOURCE.format(owner="o", repo="r"))
    magics = []

    class Shell:
        def run_line_magic(self, name, line):
            magics.append((name, line))

    monkeypatch.setitem(sys.modules, "compgraph", None)  # import compgraph -> ImportError
    monkeypatch.setattr(sys, "platform", platform)
    exec(python, {"get_ipython": Shell})  # noqa: S102 - the cell's own code
    assert magics == [("pip", expected)]


def test_with_compgraph_importable_the_cell_runs_no_magic(links):
    python = TransformerManager().transform_cell(links.SETUP_SOURCE.format(owner="o", repo="r"))
    magics = []

    class Shell:
        def run_line_magic(self, name, line):
            magics.append((name, line))

    exec(python, {"get_ipython": Shell})  # noqa: S102
    assert magics == []


def test_the_repository_is_current_once_the_links_are_in():
    """Once the notebooks carry the cells, they (and README.md) must match what the script writes
    from pyproject.toml: a new notebook or a changed address fails here until it is re-run."""
    if not any(cell.get("id") == "compgraph-links"
               for path in sorted((ROOT / "notebooks").glob("*.ipynb"))
               for cell in nbformat.read(path, as_version=4).cells):
        pytest.skip("the notebooks have no links cells yet (python3 tools/notebook_links.py)")
    done = run_script(ROOT, "--check")
    assert done.returncode == 0, done.stdout


def test_without_an_address_the_install_cell_says_how_to_install(links, monkeypatch):
    python = TransformerManager().transform_cell(links.SETUP_SOURCE_LOCAL)
    monkeypatch.setitem(sys.modules, "compgraph", None)
    monkeypatch.setattr(sys, "platform", "linux")
    with pytest.raises(ModuleNotFoundError, match="python3 run.py lab"):
        exec(python, {"get_ipython": lambda: None})  # noqa: S102
