#!/usr/bin/env python3
"""Set up everything compgraph needs, then open JupyterLab or run every test.

    python3 run.py lab     # set up, then open JupyterLab on notebooks/
    python3 run.py test    # set up, then run every test (unit, notebooks, browser)
    python3 run.py bench   # set up with the benchmark peers, then run benchmarks/ (RESULTS.md)

Set-up: a virtual environment in .venv with the package and requirements.txt, graphviz's `dot`,
and for the tests a Chromium for the browser test. What is already there is left alone, so a
second run takes seconds. A system program that is missing is installed where that needs no
password (root with apt-get, Homebrew, an active conda environment); otherwise the script stops
and prints the one command to run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".compgraph-installed"
BENCH_STAMP = VENV / ".compgraph-bench-installed"

# For each system program: its package in each installer we can drive without a password.
SYSTEM = {
    "dot": {"apt": "graphviz", "brew": "graphviz", "conda": "graphviz"},
    "chromium": {"apt": "chromium", "brew": "--cask chromium", "conda": None},
}
CHROMIUM_PATHS = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
                  "/Applications/Chromium.app/Contents/MacOS/Chromium",
                  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"]


def say(message: str) -> None:
    print(f"[compgraph] {message}", flush=True)


def run(*command: str | Path, **kwargs) -> None:
    subprocess.run([str(c) for c in command], check=True, **kwargs)


def ensure_venv() -> None:
    if sys.version_info < (3, 10):
        sys.exit(f"compgraph needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        say(f"creating the virtual environment {VENV.relative_to(ROOT)}")
        venv.create(VENV, with_pip=True)
    wanted = hashlib.sha256(b"".join(
        (ROOT / f).read_bytes() for f in ("requirements.txt", "pyproject.toml"))).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    say("installing Python packages (first run only; a few minutes)")
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-r", ROOT / "requirements.txt", "-e", ROOT)
    STAMP.write_text(wanted)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return next((p for p in CHROMIUM_PATHS if Path(p).exists()), None)


def present(program: str) -> bool:
    return (find_chromium() if program == "chromium" else shutil.which(program)) is not None


def install_command(program: str) -> tuple[list[str] | None, str]:
    """The install we can run ourselves (or None), and the command to tell a user otherwise."""
    packages = SYSTEM[program]
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    if shutil.which("apt-get"):
        apt = ["apt-get", "install", "-y", "-qq", packages["apt"]]
        if root:
            return apt, " ".join(apt)
        if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"],
                                                   capture_output=True).returncode == 0:
            return ["sudo", *apt], "sudo " + " ".join(apt)
        return None, "sudo apt-get install -y " + packages["apt"]
    if shutil.which("brew"):
        brew = ["brew", "install", *packages["brew"].split()]
        return brew, " ".join(brew)
    if os.environ.get("CONDA_PREFIX") and shutil.which("conda") and packages["conda"]:
        conda = ["conda", "install", "-y", "-c", "conda-forge", packages["conda"]]
        return conda, " ".join(conda)
    return None, (f"install {program} with your system's package manager "
                  f"(apt: {packages['apt']}, Homebrew: {packages['brew']}, "
                  f"conda: {packages['conda'] or 'not available'})")


def ensure_program(program: str, why: str) -> None:
    if present(program):
        return
    command, advice = install_command(program)
    if command is None:
        sys.exit(f"[compgraph] {program} is missing ({why}). Please run:\n    {advice}\n"
                 f"then run this command again.")
    say(f"installing {program} ({why}): {' '.join(command)}")
    if command[0] in ("apt-get", "sudo"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        update = ["apt-get", "update", "-qq"]
        run(*(["sudo", *update] if command[0] == "sudo" else update), env=env)
        run(*command, env=env)
    else:
        run(*command)
    if not present(program):
        sys.exit(f"[compgraph] installing {program} did not put it on PATH; try: {advice}")


def setup(for_tests: bool) -> None:
    ensure_venv()
    ensure_program("dot", "graphviz draws the graphs")
    if for_tests:
        ensure_program("chromium", "the browser test drives JupyterLab in Chromium")


def ensure_bench() -> None:
    """The optional extra `.[bench]` (micrograd, torch): only for benchmarks/, installed once."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if BENCH_STAMP.exists() and BENCH_STAMP.read_text() == wanted:
        return
    say("installing the benchmark peers (micrograd, torch; first run only)")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[bench]")
    BENCH_STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("lab", "test", "bench"):
        print(__doc__)
        return 2
    action, extra = argv[0], argv[1:]
    setup(for_tests=action == "test")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    if action == "lab":
        say("opening JupyterLab on notebooks/ (Ctrl-C to stop)")
        # Jupyter refuses to start as root unless told to (containers and CI machines run as root)
        as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        return subprocess.call([str(BIN / "jupyter"), "lab", "--notebook-dir",
                                str(ROOT / "notebooks"), *as_root, *extra], env=env, cwd=ROOT)
    if action == "bench":
        ensure_bench()
        say("running the benchmarks (a few minutes); the table goes to benchmarks/RESULTS.md")
        return subprocess.call([str(PYTHON), str(ROOT / "benchmarks" / "run.py"), *extra],
                               env=env, cwd=ROOT)
    if chromium := find_chromium():
        env.setdefault("COMPGRAPH_CHROMIUM", chromium)
    say("running every test: unit and property tests, notebooks (nbval), browser")
    return subprocess.call([str(PYTHON), "-m", "pytest", *extra], env=env, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
