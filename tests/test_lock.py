"""requirements.lock: one set of exact versions, used by run.py, .ci/run and binder/.

The ranges live in pyproject.toml (the package's own dependencies, for people who pip-install it
into their environment), requirements.txt (the notebooks' and tests' tools) and
lite/requirements.txt (the JupyterLite site's builder). These tests fail when the lock and the
ranges disagree, when the lock is not closed under dependencies, or when something installs
from anywhere but the lock."""

from __future__ import annotations

import importlib.metadata as metadata
import re
import sys
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# The environments the lock is resolved for: every supported Python on the three usual systems.
PYTHONS = ["3.10.12", "3.11.7", "3.12.3", "3.13.1"]
PLATFORMS = [("linux", "posix", "Linux"), ("darwin", "posix", "Darwin"),
             ("win32", "nt", "Windows")]


def requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def pins() -> list[Requirement]:
    return [Requirement(line) for line in requirement_lines(LOCK)]


def direct_requirements() -> list[Requirement]:
    return ([Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
            + [Requirement(line) for line in requirement_lines(ROOT / "requirements.txt")]
            + [Requirement(line) for line in requirement_lines(ROOT / "lite" / "requirements.txt")])


def environment(python: str, platform: tuple[str, str, str]) -> dict[str, str]:
    sys_platform, os_name, system = platform
    return {**default_environment(), "python_full_version": python,
            "python_version": ".".join(python.split(".")[:2]), "sys_platform": sys_platform,
            "os_name": os_name, "platform_system": system, "implementation_name": "cpython",
            "platform_python_implementation": "CPython"}


def pinned_version(requirement: Requirement) -> Version:
    [specifier] = requirement.specifier
    assert specifier.operator == "==", f"{requirement} is not an exact pin"
    return Version(specifier.version)


def pins_for(env: dict[str, str]) -> dict[str, Version]:
    chosen: dict[str, Version] = {}
    for pin in pins():
        if pin.marker is None or pin.marker.evaluate(env):
            name = canonicalize_name(pin.name)
            assert name not in chosen, f"two pins of {name} apply to {env['python_full_version']}"
            chosen[name] = pinned_version(pin)
    return chosen


def test_every_line_of_the_lock_is_an_exact_pin():
    assert len(pins()) > 50  # the whole closure, not a handful of top-level names
    for pin in pins():
        pinned_version(pin)
        assert not pin.url and not pin.extras, pin


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p[0])
def test_every_direct_requirement_is_pinned_inside_its_range(python, platform):
    env = environment(python, platform)
    chosen = pins_for(env)
    for requirement in direct_requirements():
        if requirement.marker is not None and not requirement.marker.evaluate(env):
            continue
        name = canonicalize_name(requirement.name)
        assert name in chosen, f"{requirement} is not pinned in requirements.lock for {python}"
        assert requirement.specifier.contains(chosen[name], prereleases=True), (
            f"requirements.lock pins {name}=={chosen[name]} (Python {python}), outside "
            f"'{requirement}'; run `python3 run.py lock`")


def test_a_package_named_in_two_files_has_one_range():
    ranges: dict[str, set[str]] = {}
    for requirement in direct_requirements():
        ranges.setdefault(canonicalize_name(requirement.name), set()).add(
            str(requirement.specifier))
    assert {name: sorted(specs) for name, specs in ranges.items() if len(specs) > 1} == {}


def test_every_pin_of_a_direct_requirement_is_inside_its_range():
    ranges = {canonicalize_name(r.name): r for r in direct_requirements()}
    for pin in pins():
        if (requirement := ranges.get(canonicalize_name(pin.name))) is not None:
            assert requirement.specifier.contains(pinned_version(pin), prereleases=True), (
                f"requirements.lock has {pin}, outside '{requirement}'")


def test_the_lock_is_closed_under_dependencies_here():
    """Every dependency of every pinned distribution installed here (read from its metadata, for
    this interpreter) is pinned in the lock, at a version inside the dependency's range."""
    env = environment(".".join(map(str, sys.version_info[:3])),
                      next(p for p in PLATFORMS if p[0] == sys.platform)
                      if sys.platform in ("linux", "darwin", "win32") else PLATFORMS[0])
    chosen = pins_for(env)
    for name in chosen:
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # e.g. the site's builder, which lives in an environment of its own
        for line in requires:
            dependency = Requirement(line)
            if dependency.marker is not None and not dependency.marker.evaluate(
                    {**env, "extra": ""}):
                continue
            dependency_name = canonicalize_name(dependency.name)
            assert dependency_name in chosen, f"{name} needs {dependency}, not in the lock"
            assert dependency.specifier.contains(chosen[dependency_name], prereleases=True), (
                f"{name} needs {dependency}; the lock has {chosen[dependency_name]}")


def installed(name: str) -> Version | None:
    try:
        return Version(metadata.version(name))
    except metadata.PackageNotFoundError:
        return None


def test_the_environment_is_the_lock():
    """What the tests run in is what the lock says (run.py installs it and checks it), and the
    site's builder is not in it: the Pyodide kernel's extension breaks a regular JupyterLab."""
    here = pins_for(environment(".".join(map(str, sys.version_info[:3])),
                                next((p for p in PLATFORMS if p[0] == sys.platform),
                                     PLATFORMS[0])))
    seeded = {"pip", "setuptools", "wheel"}  # put there by venv itself, not installed by run.py
    wrong = {name: (str(version), str(installed(name))) for name, version in here.items()
             if installed(name) not in (None, version) and name not in seeded}
    assert wrong == {}, "installed versions differ from the lock (lock, installed)"
    for requirement in direct_requirements()[:len(PYPROJECT["project"]["dependencies"])] + [
            Requirement(line) for line in requirement_lines(ROOT / "requirements.txt")]:
        assert installed(requirement.name) == here[canonicalize_name(requirement.name)]
    assert installed("jupyterlite-pyodide-kernel") is None
    assert installed("jupyterlite-core") is None


def test_the_benchmark_peers_and_the_teaching_widgets():
    names = {canonicalize_name(pin.name) for pin in pins()}
    # torch is the benchmark extra's alone; a resolver asked for it would pull a CUDA build
    assert "torch" not in names and "micrograd" not in names
    assert {"anywidget", "jupyterlite-core", "jupyterlite-pyodide-kernel", "uv"} <= names
    assert any(canonicalize_name(Requirement(r).name) == "anywidget"
               and Requirement(r).specifier.contains("0.9.0")
               and not Requirement(r).specifier.contains("0.8.0")
               for r in PYPROJECT["project"]["dependencies"])


def test_the_lock_says_how_to_refresh_it():
    assert "python3 run.py lock" in LOCK.read_text().split("\n\n")[0][:400]


def test_binder_installs_what_ci_tests_at_the_lock_s_versions():
    lines = [line.split("#", 1)[0].strip()
             for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines()]
    # pip resolves a nested -r relative to the file that names it; -e . to the working
    # directory, which repo2docker sets to the repository's root
    assert [line for line in lines if line] == ["-c ../requirements.lock", "-r ../requirements.txt",
                                                "-e ."]
    assert (ROOT / "binder" / "../requirements.lock").resolve() == LOCK


def test_every_install_goes_through_the_lock():
    run_py = (ROOT / "run.py").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^python3 run\.py test\b", ci, re.M), ".ci/run must run the README's command"
    install = run_py[run_py.index("def install("):run_py.index("def ensure_venv(")]
    # .venv: requirements.txt's packages and the package, at the lock's versions
    assert '"-c", LOCK, "-r", ROOT / "requirements.txt"' in install
    lite = run_py[run_py.index("def ensure_lite_env("):run_py.index("def build_wheel(")]
    assert '"-c", LOCK' in lite and 'LITE_CONFIG / "requirements.txt"' in lite
    assert '"-c", LOCK' in run_py[run_py.index("def ensure_bench("):]  # the extra cannot move it
