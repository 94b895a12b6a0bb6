#!/usr/bin/env python3
"""Set up everything compgraph needs, then open JupyterLab or run every test.

    python3 run.py lab     # set up, then open JupyterLab on notebooks/
    python3 run.py test    # set up, then run every test (unit, notebooks, browser, Binder, site)
    python3 run.py site    # set up, then build the course's website in build/site: every
                           # notebook as a page that steps with nothing running, and the
                           # JupyterLite site beside it in build/site/lite (--no-lite: pages only)
    python3 run.py lite    # set up, then build the JupyterLite site alone (the no-install course)
    python3 run.py lock    # re-resolve requirements.lock from pyproject.toml and requirements.txt
                           # (add --upgrade to move every pin to the newest release in range)
    python3 run.py bench   # set up with the benchmark peers, then run benchmarks/ (RESULTS.md)

Set-up: a virtual environment in .venv holding requirements.txt's packages and the package itself
at exactly the versions in requirements.lock, graphviz's `dot`, and for the tests a Chromium for
the browser tests (the JupyterLite builder gets an environment of its own, build/lite-env). Every
run checks that the environment still matches the lock and that its key modules import; what is
missing or broken is reinstalled, so a second run takes seconds and a damaged .venv repairs itself.
A system program that is missing is installed where that needs no password (root with apt-get,
Homebrew, an active conda environment); otherwise the script stops and prints the one command to
run. Two runs started at once take turns (a lock file beside .venv), so they do not race.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".compgraph-installed"
BENCH_STAMP = VENV / ".compgraph-bench-installed"
LOCK = ROOT / "requirements.lock"
SETUP_LOCK = ROOT / ".venv.setup-lock"  # beside .venv, not in it: it guards .venv's creation
LITE_CONFIG = ROOT / "lite"
LITE_OUTPUT = ROOT / "build" / "lite"
LITE_VENV = ROOT / "build" / "lite-env"  # the site's builder: never in .venv (see lite/)
SITE_OUTPUT = ROOT / "build" / "site"  # the course's website: static pages, JupyterLite in lite/
LITE_NOTICE = ROOT / "web" / "lite-offline.js"  # told to the learner where Pyodide is unreachable

# Modules that must import in .venv, with the distribution that provides each (reinstalled when
# its import fails). jupyterlab and nbconvert take seconds to import, so for them (pure Python) it
# is enough that the module is found. compgraph itself is checked by where it is installed from,
# not imported, so that a half-edited source file is not mistaken for a broken environment.
IMPORTS = {"numpy": "numpy", "matplotlib": "matplotlib", "ipywidgets": "ipywidgets",
           "anywidget": "anywidget", "graphviz": "graphviz", "nbval": "nbval", "pytest": "pytest",
           "hypothesis": "hypothesis", "playwright": "playwright"}
FINDS = {"jupyterlab": "jupyterlab", "nbconvert": "nbconvert"}
# The resolver's command, kept here so that the lock's header names the command to re-run.
LOCK_COMMAND = ["pip", "compile", "pyproject.toml", "requirements.txt", "lite/requirements.txt",
                "--universal",
                "--python-version", "3.10", "--no-config", "--quiet",
                "--custom-compile-command", "python3 run.py lock", "-o", "requirements.lock"]

# For each system program: its package in each installer we can drive without a password.
SYSTEM = {
    "dot": {"apt": "graphviz", "brew": "graphviz", "conda": "graphviz"},
    "chromium": {"apt": "chromium", "brew": "--cask chromium", "conda": None},
}
CHROMIUM_PATHS = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
                  "/Applications/Chromium.app/Contents/MacOS/Chromium",
                  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"]

# Runs inside .venv. From the roots (requirements.txt's packages and compgraph) it walks what each
# installed distribution requires, and reports what is missing or not at the lock's version (lock
# markers evaluated for this interpreter); then it imports the key modules. Prints a JSON list of
# [distribution or null, problem] pairs.
CHECK_SCRIPT = r"""
import importlib, importlib.metadata as metadata, importlib.util, json, re, sys
from pathlib import Path
try:
    from packaging.requirements import Requirement
    from packaging.version import Version
except ImportError:  # packaging itself broken or missing: pip always carries a copy
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.version import Version
pins, roots, imports, finds, root = json.loads(sys.argv[1])
canonical = lambda name: re.sub(r"[-_.]+", "-", name).lower()
locked = {}
for line in pins:
    requirement = Requirement(line)
    if requirement.marker is None or requirement.marker.evaluate():
        locked[canonical(requirement.name)] = next(iter(requirement.specifier)).version
problems, seen = [], set()
queue = [(Requirement(line), None) for line in roots]
while queue:
    requirement, needed_by = queue.pop(0)
    name, extras = canonical(requirement.name), sorted(requirement.extras) or [""]
    if (name, tuple(extras)) in seen:
        continue
    seen.add((name, tuple(extras)))
    culprit = None if name == "compgraph" else requirement.name  # compgraph: reinstall -e .
    try:
        installed = metadata.version(requirement.name)
    except metadata.PackageNotFoundError:
        why = f" (needed by {needed_by})" if needed_by else ""
        problems.append([culprit, f"{requirement.name} is not installed{why}"])
        continue
    if name in locked and Version(installed) != Version(locked[name]):
        problems.append([culprit, f"{requirement.name} is {installed}, the lock says "
                                  f"{locked[name]}"])
    for line in metadata.requires(requirement.name) or []:
        dependency = Requirement(line)
        if dependency.marker is None or any(dependency.marker.evaluate({"extra": extra})
                                            for extra in extras):
            queue.append((dependency, requirement.name))
for module, distribution in imports.items():
    try:
        importlib.import_module(module)
    except Exception as error:
        problems.append([distribution, f"import {module} fails ({type(error).__name__}: "
                                       f"{str(error)[:200]})"])
for module, distribution in finds.items():
    if importlib.util.find_spec(module) is None:
        problems.append([distribution, f"module {module} is missing"])
spec = importlib.util.find_spec("compgraph")
origin = Path(spec.origin).resolve() if spec and spec.origin else None
if origin is None or Path(root) not in origin.parents:
    problems.append([None, f"compgraph is not installed from {root} (found: {origin})"])
print(json.dumps(problems))
"""


def say(message: str) -> None:
    print(f"[compgraph] {message}", flush=True)


def run(*command: str | Path, **kwargs) -> None:
    subprocess.run([str(c) for c in command], check=True, **kwargs)


@contextmanager
def setup_lock(path: Path | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path` while setting up, so concurrent runs take turns.

    The operating system releases the lock when its holder exits, even when killed, so a lock left
    by a crashed run never blocks the next one (the file itself may stay; it is harmless)."""
    path = path or SETUP_LOCK
    with open(path, "a+b") as handle:
        if os.name == "nt":
            import msvcrt
            handle.seek(0)
            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    say(f"waiting for another run.py that is setting up ({path.name})")
                    time.sleep(2)
        else:
            import fcntl
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                say(f"waiting for another run.py that is setting up ({path.name})")
                fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if os.name == "nt":
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
            else:
                fcntl.flock(handle, fcntl.LOCK_UN)


def requirement_lines(path: Path) -> list[str]:
    """The requirement lines of a requirements file, comments and options dropped."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def venv_problems() -> list[tuple[str | None, str]]:
    """What is wrong with .venv: lock pins not matched, key modules not importing, compgraph not
    installed from this checkout. Empty when all is well."""
    done = subprocess.run(
        [str(PYTHON), "-c", CHECK_SCRIPT, json.dumps([requirement_lines(LOCK),
                                            [*requirement_lines(ROOT / "requirements.txt"),
                                             "compgraph"], IMPORTS, FINDS, str(ROOT)])],
        capture_output=True, text=True, cwd=tempfile.gettempdir(),  # not ROOT: no local imports
        env={**os.environ, "PYTHONNOUSERSITE": "1", "MPLCONFIGDIR": tempfile.gettempdir()})
    if done.returncode != 0:
        return [(None, f"the environment check itself failed: {done.stderr.strip()[-500:]}")]
    return [tuple(problem) for problem in json.loads(done.stdout)]


def python_runs() -> bool:
    try:
        return subprocess.run([str(PYTHON), "-c", "import sys"], capture_output=True,
                              timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def delete_advice() -> str:
    command = f'rmdir /s /q "{VENV}"' if os.name == "nt" else f"rm -rf '{VENV}'"
    return f"Delete the environment and run this command again; it rebuilds it:\n    {command}"


def install() -> None:
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-c", LOCK, "-r", ROOT / "requirements.txt",
        "-e", ROOT)


def ensure_venv() -> None:
    if sys.version_info < (3, 10):
        sys.exit(f"compgraph needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
    with setup_lock():
        if not PYTHON.exists():
            say(f"creating the virtual environment {VENV.name}")
            venv.create(VENV, with_pip=True)
        elif not python_runs():
            sys.exit(f"[compgraph] The Python in {VENV} does not start (was the Python it was "
                     f"made from removed or upgraded?). {delete_advice()}")
        wanted = hashlib.sha256(b"".join(
            (ROOT / f).read_bytes() for f in ("requirements.lock", "requirements.txt",
                                              "pyproject.toml"))).hexdigest()
        stamped = STAMP.exists() and STAMP.read_text() == wanted
        problems = venv_problems() if stamped else []
        if stamped and not problems:
            return
        if problems:
            say("the environment in .venv needs repair: " + "; ".join(p for _, p in problems))
        else:
            say("installing Python packages from requirements.lock (first run: a few minutes)")
        install()
        problems = venv_problems()
        broken = sorted({name for name, _ in problems if name})
        if broken:
            # pip believes these are installed (their records are there) but they do not work,
            # e.g. files deleted by hand: reinstall them from scratch at the locked versions.
            say(f"reinstalling {', '.join(broken)}")
            run(PYTHON, "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps",
                "-c", LOCK, *broken)
            problems = venv_problems()
        if problems:
            sys.exit("[compgraph] .venv could not be repaired:\n  - "
                     + "\n  - ".join(p for _, p in problems) + f"\n{delete_advice()}")
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


LAB_SETTINGS = ROOT / "binder" / "overrides.json"  # also what binder/postBuild installs


def ensure_lab_settings() -> None:
    """JupyterLab's settings for this project (binder/overrides.json) in .venv: widget state saved
    with the notebook, so a notebook run and saved in JupyterLab reopens with its widgets."""
    target = VENV / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    wanted = LAB_SETTINGS.read_text()
    if not target.exists() or target.read_text() != wanted:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(wanted)


def setup(for_tests: bool) -> None:
    ensure_venv()
    ensure_lab_settings()
    with setup_lock():  # two runs must not both call apt-get (dpkg takes one at a time)
        ensure_program("dot", "graphviz draws the graphs")
        if for_tests:
            ensure_program("chromium", "the browser tests drive JupyterLab in Chromium")


def ensure_bench() -> None:
    """The optional extra `.[bench]` (micrograd, torch): only for benchmarks/, installed once.
    Constrained by the lock, so it never moves a locked package."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()
                            + LOCK.read_bytes()).hexdigest()
    with setup_lock():
        if BENCH_STAMP.exists() and BENCH_STAMP.read_text() == wanted:
            return
        say("installing the benchmark peers (micrograd, torch; first run only)")
        run(PYTHON, "-m", "pip", "install", "--quiet", "-c", LOCK, "-e", f"{ROOT}[bench]")
        BENCH_STAMP.write_text(wanted)


def relock(extra: list[str]) -> int:
    """Re-resolve requirements.lock with uv (itself pinned in the lock, so in .venv)."""
    say("resolving requirements.lock from pyproject.toml and both requirements.txt files")
    code = subprocess.call([str(BIN / "uv"), *LOCK_COMMAND, *extra], cwd=ROOT)
    if code == 0:
        say("done; `git diff requirements.lock` shows what moved. The next run installs it.")
    return code


def uv(*args: str | Path, **kwargs) -> None:
    run(BIN / ("uv.exe" if os.name == "nt" else "uv"), *args, **kwargs)


def ensure_lite_env() -> Path:
    """The site's builder in an environment of its own, at the lock's versions (uv: seconds)."""
    lite_bin = LITE_VENV / ("Scripts" if os.name == "nt" else "bin")
    python = lite_bin / ("python.exe" if os.name == "nt" else "python")
    if not python.exists():
        uv("venv", "--no-config", "--quiet", "--python", PYTHON, LITE_VENV)
    uv("pip", "install", "--no-config", "--quiet", "--python", python, "-c", LOCK,
       "-r", LITE_CONFIG / "requirements.txt")
    return python


def build_wheel(python: Path, wheel_dir: Path) -> Path:
    """The package as a wheel (pure Python), built offline with the lock's setuptools, from a
    clean copy of the source (an in-place build would reuse a stale build/ folder)."""
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "source"
        shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "*.egg-info", "__pycache__", ".*cache", "artifacts", "lite",
            "web",
            "notebooks", "tests", "benchmarks", "node_modules"))
        uv("build", "--no-config", "--quiet", "--wheel", "--no-build-isolation", "--python",
           python, "--out-dir", source / "dist", source)
        wheels = sorted((source / "dist").glob("compgraph-*.whl"))
        if len(wheels) != 1:
            sys.exit(f"[compgraph] expected one compgraph wheel, found {wheels}")
        wheel_dir.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(wheels[0], wheel_dir))


def pyodide_url(site: Path) -> str:
    """The address the site's Pyodide kernel loads Pyodide from: the site's setting if it has
    one, else the default written into the kernel extension's code."""
    config = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config.get("litePluginSettings", {}).get(
        "@jupyterlite/pyodide-kernel-extension:kernel", {})
    if kernel.get("pyodideUrl"):
        return kernel["pyodideUrl"]
    for script in sorted((site / "extensions" / "@jupyterlite" / "pyodide-kernel-extension"
                          / "static").glob("*.js")):
        found = re.search(r'pyodideUrl\|\|"(https://[^"]+)"', script.read_text(errors="replace"))
        if found:
            return found[1]
    sys.exit("[compgraph] could not find where the Pyodide kernel loads Pyodide from; the "
             "notice for learners offline (web/lite-offline.js) needs it")


def add_offline_notice(site: Path, pages: str | None) -> int:
    """Put web/lite-offline.js into every app page of the JupyterLite site (those that start
    JupyterLite: they carry its config), so that a learner whose browser cannot download Pyodide
    is told so, and pointed to the static pages (`pages`: their folder, relative to the site's
    root; None when there are none). Returns how many pages got it."""
    source = LITE_NOTICE.read_text(encoding="utf-8").replace("__PYODIDE_URL__",
                                                             pyodide_url(site))
    done = 0
    for page in sorted(site.rglob("index.html")):
        text = page.read_text(encoding="utf-8")
        if 'id="jupyter-config-data"' not in text or "</body>" not in text:
            continue
        depth = len(page.parent.relative_to(site).parts)
        here = "" if pages is None else "../" * depth + pages
        script = source.replace("__PAGES__", here)
        page.write_text(text.replace("</body>", f"<script>\n{script}</script>\n</body>", 1),
                        encoding="utf-8")
        done += 1
    if not done:
        sys.exit("[compgraph] no JupyterLite app page found to carry the offline notice")
    return done


def build_lite(output: Path | None = None, pages: str | None = None) -> Path:
    """Build the JupyterLite site: every notebook, and this package as a wheel in the site's own
    package index (piplite), so `%pip install compgraph` in the browser finds it. `pages`: where
    the course's static pages are, relative to the site (run.py site: "../")."""
    output = Path(output or LITE_OUTPUT).resolve()
    with setup_lock():
        python = ensure_lite_env()
    work = output.parent / (output.name + ".work")
    shutil.rmtree(work, ignore_errors=True)
    wheel = build_wheel(python, work / "wheels")
    notebooks = sorted(glob.glob(str(ROOT / "notebooks" / "*.ipynb")))
    contents = [arg for path in notebooks for arg in ("--contents", path)]
    shutil.rmtree(output, ignore_errors=True)
    run(python.parent / "jupyter", "lite", "build", "--lite-dir", LITE_CONFIG,
        "--output-dir", output, "--piplite-wheels", wheel, *contents, cwd=work,
        env={**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}"})
    shutil.rmtree(work, ignore_errors=True)
    add_offline_notice(output, pages)
    return output


def build_site(output: Path | None = None, lite: bool = True) -> Path:
    """The course's website: tools/build_site.py writes the static pages, and the JupyterLite
    site goes beside them in lite/ (linked from every page)."""
    output = Path(output or SITE_OUTPUT).resolve()
    started = time.monotonic()
    if lite:
        build_lite(output / "lite", pages="../")
    else:
        shutil.rmtree(output / "lite", ignore_errors=True)
    run(PYTHON, ROOT / "tools" / "build_site.py", output, *(["--lite"] if lite else []))
    size = sum(p.stat().st_size for p in output.rglob("*") if p.is_file())
    say(f"the site is in {output}: {size / 1e6:.0f} MB, built in "
        f"{time.monotonic() - started:.0f} s")
    return output


def main(argv: list[str]) -> int:
    actions = ("lab", "test", "site", "lite", "lock", "bench")
    if not argv or argv[0] not in actions:
        print(__doc__)
        return 2
    action, extra = argv[0], argv[1:]
    if action == "lock":
        ensure_venv()
        return relock(extra)
    if action in ("site", "lite"):  # the sites need neither dot nor a browser to be built
        ensure_venv()
    else:
        setup(for_tests=action == "test")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    if action == "lab":
        say("opening JupyterLab on notebooks/ (Ctrl-C to stop)")
        # Jupyter refuses to start as root unless told to (containers and CI machines run as root)
        as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        return subprocess.call([str(BIN / "jupyter"), "lab", "--notebook-dir",
                                str(ROOT / "notebooks"), *as_root, *extra], env=env, cwd=ROOT)
    if action == "site":
        paths = [arg for arg in extra if not arg.startswith("-")]
        output = build_site(Path(paths[0]) if paths else None, lite="--no-lite" not in extra)
        say(f"publish that folder on any static host (.github/workflows/pages.yml does, on GitHub "
            f"Pages), or try it with\n    {PYTHON} -m http.server --directory '{output}' 8000"
            f"   (then open http://localhost:8000/)")
        return 0
    if action == "lite":
        output = build_lite(Path(extra[0]) if extra else None)
        say(f"the site is in {output}: publish that folder on any static host, or try it with\n"
            f"    {PYTHON} -m http.server --directory '{output}' 8000   (then open "
            f"http://localhost:8000/lab/index.html)")
        return 0
    if action == "bench":
        ensure_bench()
        say("running the benchmarks (a few minutes); the table goes to benchmarks/RESULTS.md")
        return subprocess.call([str(PYTHON), str(ROOT / "benchmarks" / "run.py"), *extra],
                               env=env, cwd=ROOT)
    if chromium := find_chromium():
        env.setdefault("COMPGRAPH_CHROMIUM", chromium)
    say("running every test: unit and property tests, notebooks (nbval), browser, Binder, site")
    return subprocess.call([str(PYTHON), "-m", "pytest", *extra], env=env, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
