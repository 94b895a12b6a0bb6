"""Binder, as far as this machine can check it without a container engine.

repo2docker builds a Binder image from binder/ alone (the root's files are ignored when binder/
exists): apt.txt's Debian packages, runtime.txt's Python, then `pip install -r
binder/requirements.txt` from the repository's root. This test builds the same thing that can be
built here: a fresh virtual environment, of runtime.txt's Python, installed only from
binder/requirements.txt in a copy of the repository's tracked files (with apt.txt's packages
present on this machine), and executes every notebook in it. See the README for what only a real
Binder build shows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
pytestmark = pytest.mark.slow

# What each Debian package in apt.txt must put on PATH for the notebooks.
PROGRAMS = {"graphviz": "dot"}
PROBE = """import sys, compgraph
print(sys.prefix)
print(compgraph.__file__)"""


def missing(reason: str) -> None:
    """Locally a missing prerequisite skips; in CI (which must run this test) it fails."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def runtime_python() -> str:
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert runtime.startswith("python-"), runtime
    version = runtime.removeprefix("python-")
    if ".".join(map(str, sys.version_info[:2])) == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if found is None:
        missing(f"binder/runtime.txt asks for Python {version}; there is none on this machine")
    return found


def tracked_copy(destination: Path) -> Path:
    """The repository as Binder sees it: the files git tracks (with their working-tree content)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def uv() -> str:
    found = Path(sys.executable).parent / ("uv.exe" if os.name == "nt" else "uv")
    return str(found) if found.exists() else shutil.which("uv") or pytest.fail("uv is missing")


def freeze(python: Path) -> list[str]:
    """name==version of everything installed, less the package itself (its path differs) and
    what venv seeds by itself."""
    done = subprocess.run([uv(), "pip", "freeze", "--no-config", "--python", str(python)],
                          capture_output=True, text=True, check=True)
    return sorted(line for line in done.stdout.splitlines()
                  if line.split("==")[0].split(" @ ")[0].strip().lower()
                  not in ("compgraph", "-e", "pip", "setuptools", "wheel")
                  and not line.startswith("-e "))


def test_apt_txt_packages_are_present():
    for package in filter(None, (BINDER / "apt.txt").read_text().split()):
        if shutil.which("dpkg-query"):
            status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                                    capture_output=True, text=True).stdout
            assert status.endswith("installed"), f"apt.txt's {package} is not installed here"
        program = PROGRAMS.get(package)
        assert program, f"say in PROGRAMS what apt.txt's {package} provides"
        assert shutil.which(program), f"{program} (from {package}) is not on PATH"


def test_binder_files_alone_make_an_environment_that_runs_every_notebook(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        missing("needs a git checkout (Binder builds the tracked files)")
    repo = tracked_copy(tmp_path / "repo")
    env_dir = tmp_path / "binder-env"
    subprocess.run([uv(), "venv", "--no-config", "--quiet", "--python", runtime_python(),
                    str(env_dir)], check=True)
    env_bin = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = env_bin / ("python.exe" if os.name == "nt" else "python")
    # What repo2docker runs (with pip) from the repository's root; uv reads the same file and
    # resolves its nested -r and its -e . the same way, in seconds.
    subprocess.run([uv(), "pip", "install", "--no-config", "--quiet", "--python", str(python),
                    "-r", "binder/requirements.txt"], cwd=repo, check=True)

    # Exactly what CI tests: the same distributions at the same versions as this environment.
    assert freeze(python) == freeze(Path(sys.executable))
    notebooks = sorted((repo / "notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 5
    probe = tmp_path / "probe.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)]), probe)
    home = tmp_path / "home"
    env = {key: value for key, value in os.environ.items()
           if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "JUPYTER_PATH")}
    env.update(PATH=f"{env_bin}{os.pathsep}{os.environ.get('PATH', '')}",
               JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython"),
               MPLCONFIGDIR=str(home / "matplotlib"))
    out = tmp_path / "executed"
    # Two halves at once: this machine has two cores and the rest of the suite uses one.
    halves = [[probe, *notebooks[0::2]], notebooks[1::2]]
    runs = [subprocess.Popen([str(env_bin / "jupyter"), "nbconvert", "--to", "notebook",
                              "--execute", "--ExecutePreprocessor.timeout=600",
                              "--output-dir", str(out), *map(str, half)],
                             cwd=repo / "notebooks", env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
            for half in halves]
    logs = [run.communicate(timeout=900)[0] for run in runs]
    for run, log in zip(runs, logs):
        assert run.returncode == 0, log[-5000:]

    # The kernel was the Binder environment's, with the package installed from the copy.
    executed_probe = nbformat.read(out / "probe.ipynb", as_version=4)
    prefix, package = executed_probe.cells[0].outputs[0]["text"].split()
    assert Path(prefix).resolve() == env_dir.resolve()
    assert repo.resolve() in Path(package).resolve().parents
    for notebook in notebooks:
        executed = nbformat.read(out / notebook.name, as_version=4)
        errors = [output for cell in executed.cells if cell.cell_type == "code"
                  and "raises-exception" not in cell.metadata.get("tags", [])
                  for output in cell.get("outputs", []) if output["output_type"] == "error"]
        assert errors == [], f"{notebook.name}: {json.dumps(errors)[:2000]}"
        ran = [cell for cell in executed.cells if cell.cell_type == "code"]
        assert all(cell.execution_count for cell in ran if cell.source.strip()), notebook.name
