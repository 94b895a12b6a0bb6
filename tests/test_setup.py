"""run.py, the set-up script: which installer it chooses for a missing system program, and the
advice it gives when it cannot install without a password; how it checks, repairs and guards
.venv. Nothing is installed: the programs on PATH, the user id, pip and the system's installers
are faked; the environment check runs for real in a tiny virtual environment of its own."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RUN_PY = Path(__file__).resolve().parent.parent / "run.py"


@pytest.fixture(scope="module")
def run_py():
    spec = importlib.util.spec_from_file_location("compgraph_run_script", RUN_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Machine:
    """A fake machine: which programs are on PATH, whether we are root, whether sudo works
    without a password. Records every command that would have run."""

    def __init__(self, monkeypatch, run_py, programs=(), root=False, sudo_ok=False,
                 conda_prefix=None):
        self.programs, self.sudo_ok = set(programs), sudo_ok
        self.probes: list[list[str]] = []
        self.commands: list[tuple[list[str], dict | None]] = []
        monkeypatch.setattr(run_py.shutil, "which", self.which)
        monkeypatch.setattr(run_py.os, "geteuid", lambda: 0 if root else 1000, raising=False)
        monkeypatch.setattr(run_py.subprocess, "run", self.subprocess_run)
        monkeypatch.setattr(run_py, "run", self.run)
        monkeypatch.setattr(run_py, "CHROMIUM_PATHS", [])
        if conda_prefix:
            monkeypatch.setenv("CONDA_PREFIX", conda_prefix)
        else:
            monkeypatch.delenv("CONDA_PREFIX", raising=False)

    def which(self, name):
        return f"/usr/bin/{name}" if name in self.programs else None

    def subprocess_run(self, command, **kwargs):
        assert command == ["sudo", "-n", "true"], f"unexpected subprocess {command}"
        self.probes.append(command)
        return subprocess.CompletedProcess(command, 0 if self.sudo_ok else 1)

    def run(self, *command, env=None):
        self.commands.append(([str(c) for c in command], env))


def test_root_with_apt_installs_with_apt_get(monkeypatch, run_py):
    Machine(monkeypatch, run_py, programs={"apt-get", "sudo"}, root=True)
    command, advice = run_py.install_command("dot")
    assert command == ["apt-get", "install", "-y", "-qq", "graphviz"]
    assert advice == "apt-get install -y -qq graphviz"
    command, _ = run_py.install_command("chromium")
    assert command == ["apt-get", "install", "-y", "-qq", "chromium"]


def test_non_root_without_sudo_gets_advice_only(monkeypatch, run_py):
    Machine(monkeypatch, run_py, programs={"apt-get"})
    assert run_py.install_command("dot") == (None, "sudo apt-get install -y graphviz")


def test_non_root_whose_sudo_wants_a_password_gets_advice_only(monkeypatch, run_py):
    machine = Machine(monkeypatch, run_py, programs={"apt-get", "sudo"}, sudo_ok=False)
    assert run_py.install_command("dot") == (None, "sudo apt-get install -y graphviz")
    assert machine.probes == [["sudo", "-n", "true"]]  # asked, without a prompt


def test_non_root_with_passwordless_sudo_uses_sudo(monkeypatch, run_py):
    Machine(monkeypatch, run_py, programs={"apt-get", "sudo"}, sudo_ok=True)
    command, advice = run_py.install_command("dot")
    assert command == ["sudo", "apt-get", "install", "-y", "-qq", "graphviz"]
    assert advice == "sudo apt-get install -y -qq graphviz"


def test_homebrew(monkeypatch, run_py):
    Machine(monkeypatch, run_py, programs={"brew"})
    assert run_py.install_command("dot") == (["brew", "install", "graphviz"],
                                              "brew install graphviz")
    command, _ = run_py.install_command("chromium")
    assert command == ["brew", "install", "--cask", "chromium"]


def test_conda_environment(monkeypatch, run_py):
    Machine(monkeypatch, run_py, programs={"conda"}, conda_prefix="/opt/conda/envs/cg")
    command, _ = run_py.install_command("dot")
    assert command == ["conda", "install", "-y", "-c", "conda-forge", "graphviz"]
    # conda has no chromium: advice instead
    command, advice = run_py.install_command("chromium")
    assert command is None and "conda: not available" in advice


def test_conda_on_path_without_an_active_environment_is_not_used(monkeypatch, run_py):
    Machine(monkeypatch, run_py, programs={"conda"})
    command, advice = run_py.install_command("dot")
    assert command is None
    assert "apt: graphviz" in advice and "Homebrew: graphviz" in advice


def test_apt_is_preferred_over_brew(monkeypatch, run_py):
    Machine(monkeypatch, run_py, programs={"apt-get", "brew"}, root=True)
    assert run_py.install_command("dot")[0][0] == "apt-get"


def test_ensure_program_exits_with_the_advice_when_nothing_can_install(monkeypatch, run_py):
    machine = Machine(monkeypatch, run_py, programs={"apt-get"})
    with pytest.raises(SystemExit) as exit_info:
        run_py.ensure_program("dot", "graphviz draws the graphs")
    message = str(exit_info.value.code)
    assert "dot is missing (graphviz draws the graphs)" in message
    assert "sudo apt-get install -y graphviz" in message
    assert machine.commands == []


def test_ensure_program_with_no_installer_at_all(monkeypatch, run_py):
    machine = Machine(monkeypatch, run_py, programs=set())
    with pytest.raises(SystemExit) as exit_info:
        run_py.ensure_program("chromium", "the browser test")
    assert "install chromium with your system's package manager" in str(exit_info.value.code)
    assert machine.commands == []


def test_ensure_program_leaves_a_present_program_alone(monkeypatch, run_py):
    machine = Machine(monkeypatch, run_py, programs={"dot", "apt-get"}, root=True)
    run_py.ensure_program("dot", "graphviz draws the graphs")
    assert machine.commands == [] and machine.probes == []


def test_ensure_program_as_root_runs_apt_get_and_checks_the_result(monkeypatch, run_py):
    machine = Machine(monkeypatch, run_py, programs={"apt-get"}, root=True)
    monkeypatch.setattr(run_py, "say", lambda message: None)
    # the faked install does not put dot on PATH, so the script must say so
    with pytest.raises(SystemExit, match="did not put it on PATH"):
        run_py.ensure_program("dot", "graphviz draws the graphs")
    commands = [c for c, _ in machine.commands]
    assert commands == [["apt-get", "update", "-qq"],
                        ["apt-get", "install", "-y", "-qq", "graphviz"]]
    assert all(env["DEBIAN_FRONTEND"] == "noninteractive" for _, env in machine.commands)


# --- The virtual environment: checked against the lock, repaired, created by one run at a time ---

def use_project(monkeypatch, run_py, root: Path) -> None:
    """Point run.py at a project in `root` (its own .venv, lock and lock file)."""
    venv_dir = root / ".venv"
    python = venv_dir / ("Scripts/python.exe" if run_py.os.name == "nt" else "bin/python")
    for name, value in {"ROOT": root, "VENV": venv_dir, "BIN": python.parent, "PYTHON": python,
                        "STAMP": venv_dir / ".compgraph-installed",
                        "LOCK": root / "requirements.lock",
                        "SETUP_LOCK": root / ".venv.setup-lock"}.items():
        monkeypatch.setattr(run_py, name, value)


def fake_project(root: Path, pins: str = "", roots: str = "") -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'fake'\n")
    (root / "requirements.lock").write_text(pins)
    (root / "requirements.txt").write_text(roots)


def stamped_venv(run_py, root: Path) -> None:
    """A .venv whose stamp says it is installed (its Python is this test's Python)."""
    run_py.BIN.mkdir(parents=True)
    run_py.PYTHON.symlink_to(sys.executable)
    digest = run_py.hashlib.sha256(b"".join(
        (root / f).read_bytes()
        for f in ("requirements.lock", "requirements.txt", "pyproject.toml"))).hexdigest()
    run_py.STAMP.write_text(digest)


class Installs:
    """Fakes pip and the environment check: problems to report, one list per check."""

    def __init__(self, monkeypatch, run_py, checks):
        self.checks, self.installs, self.commands = list(checks), 0, []
        monkeypatch.setattr(run_py, "install", self.install)
        monkeypatch.setattr(run_py, "venv_problems", lambda: self.checks.pop(0))
        monkeypatch.setattr(run_py, "run", lambda *c, **k: self.commands.append(
            [str(x) for x in c]))
        monkeypatch.setattr(run_py, "say", lambda message: None)

    def install(self):
        self.installs += 1


def test_a_stamped_venv_that_lost_a_module_is_reinstalled(monkeypatch, run_py, tmp_path):
    fake_project(tmp_path)
    use_project(monkeypatch, run_py, tmp_path)
    stamped_venv(run_py, tmp_path)
    fake = Installs(monkeypatch, run_py, [[("numpy", "numpy is not installed")], []])
    run_py.ensure_venv()
    assert fake.installs == 1 and fake.checks == []  # the stamp alone was not trusted


def test_a_healthy_stamped_venv_is_left_alone(monkeypatch, run_py, tmp_path):
    fake_project(tmp_path)
    use_project(monkeypatch, run_py, tmp_path)
    stamped_venv(run_py, tmp_path)
    fake = Installs(monkeypatch, run_py, [[]])
    run_py.ensure_venv()
    assert fake.installs == 0 and fake.commands == []


def test_packages_pip_thinks_installed_are_force_reinstalled(monkeypatch, run_py, tmp_path):
    fake_project(tmp_path)
    use_project(monkeypatch, run_py, tmp_path)
    stamped_venv(run_py, tmp_path)
    broken = [("numpy", "import numpy fails (ImportError: ...)")]
    fake = Installs(monkeypatch, run_py, [broken, broken, []])
    run_py.ensure_venv()
    assert fake.installs == 1
    [command] = fake.commands
    assert "--force-reinstall" in command and command[-1] == "numpy"
    assert command[command.index("-c") + 1] == str(run_py.LOCK)  # at the locked version


def test_a_venv_that_cannot_be_repaired_says_what_to_delete(monkeypatch, run_py, tmp_path):
    fake_project(tmp_path)
    use_project(monkeypatch, run_py, tmp_path)
    stamped_venv(run_py, tmp_path)
    stamp = run_py.STAMP.read_text()
    broken = [("numpy", "import numpy fails (ImportError: libfoo.so)")]
    Installs(monkeypatch, run_py, [broken, broken, broken])
    with pytest.raises(SystemExit) as exit_info:
        run_py.ensure_venv()
    message = str(exit_info.value.code)
    assert "import numpy fails (ImportError: libfoo.so)" in message
    assert f"rm -rf '{run_py.VENV}'" in message
    assert run_py.STAMP.read_text() == stamp  # nothing new stamped: the next run checks again


def test_a_venv_whose_python_does_not_start_says_what_to_delete(monkeypatch, run_py, tmp_path):
    fake_project(tmp_path)
    use_project(monkeypatch, run_py, tmp_path)
    run_py.BIN.mkdir(parents=True)
    run_py.PYTHON.write_text("not a program\n")
    run_py.PYTHON.chmod(0o755)
    fake = Installs(monkeypatch, run_py, [])
    with pytest.raises(SystemExit, match="does not start") as exit_info:
        run_py.ensure_venv()
    assert f"rm -rf '{run_py.VENV}'" in str(exit_info.value.code)
    assert fake.installs == 0


def test_the_environment_check_compares_versions_and_imports(monkeypatch, run_py, tmp_path):
    """The real check, run in a real (tiny) virtual environment holding fake distributions:
    it walks from requirements.txt through what each installed distribution requires."""
    import packaging
    fake_project(tmp_path,
                 pins="fakepkg==1.0\n"
                      "absentpkg==2.0 ; python_version >= '3'\n"
                      "otherplatform==1.0 ; sys_platform == 'no-such-platform'\n",
                 roots="fakepkg>=1\nabsentpkg\n")
    use_project(monkeypatch, run_py, tmp_path)
    monkeypatch.setattr(run_py, "IMPORTS", {"fakepkg": "fakepkg"})
    monkeypatch.setattr(run_py, "FINDS", {"jupyterlab": "jupyterlab"})
    run_py.venv.create(run_py.VENV, with_pip=False)
    site = next(run_py.VENV.glob("lib*/python3*/site-packages"), None) or \
        run_py.VENV / "Lib" / "site-packages"
    shutil.copytree(Path(packaging.__file__).parent, site / "packaging")  # the check parses pins
    (site / "fakepkg").mkdir()
    (site / "fakepkg" / "__init__.py").write_text("")
    (site / "fakepkg-1.0.dist-info").mkdir()
    (site / "fakepkg-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.0\nRequires-Dist: fakedep>=1\n"
        "Requires-Dist: optionaldep ; extra == 'extras'\n")

    problems = run_py.venv_problems()
    assert ("absentpkg", "absentpkg is not installed") in problems
    assert ("fakedep", "fakedep is not installed (needed by fakepkg)") in problems
    assert ("jupyterlab", "module jupyterlab is missing") in problems
    assert (None, "compgraph is not installed") in problems  # reinstalled with -e ., not forced
    assert any(name is None and "compgraph is not installed from" in text
               for name, text in problems)
    assert not any(name in ("fakepkg", "otherplatform", "optionaldep") for name, _ in problems)

    (tmp_path / "requirements.lock").write_text("fakepkg==1.1\n")
    assert ("fakepkg", "fakepkg is 1.0, the lock says 1.1") in run_py.venv_problems()

    shutil.rmtree(site / "fakepkg")  # files gone, record kept: what pip cannot see
    (tmp_path / "requirements.lock").write_text("fakepkg==1.0\n")
    assert [name for name, text in run_py.venv_problems()
            if text.startswith("import fakepkg fails")] == ["fakepkg"]


SETUP_DRIVER = """
import importlib.util, sys, time, types, venv
from pathlib import Path
spec = importlib.util.spec_from_file_location("run_py", sys.argv[1])
run_py = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_py)
root = Path(sys.argv[2])
run_py.ROOT, run_py.VENV = root, root / ".venv"
run_py.BIN = run_py.VENV / "bin"
run_py.PYTHON, run_py.STAMP = run_py.BIN / "python", run_py.VENV / ".compgraph-installed"
run_py.LOCK, run_py.SETUP_LOCK = root / "requirements.lock", root / ".venv.setup-lock"
run_py.venv = types.SimpleNamespace(  # no pip in it: faster
    create=lambda path, with_pip: venv.create(path, with_pip=False))

def install():  # slow enough that an unguarded second run would start its own
    (run_py.VENV / f"installed-by-{run_py.os.getpid()}").write_text("")
    time.sleep(1.0)

run_py.install = install
run_py.venv_problems = lambda: [] if list(run_py.VENV.glob("installed-by-*")) else [
    (None, "nothing installed")]
run_py.ensure_venv()
"""


@pytest.mark.skipif(sys.platform == "win32", reason="the driver fakes a POSIX venv layout")
def test_two_first_runs_at_once_create_and_install_once(tmp_path):
    fake_project(tmp_path / "project")
    driver = tmp_path / "driver.py"
    driver.write_text(SETUP_DRIVER)
    runs = [subprocess.Popen([sys.executable, str(driver), str(RUN_PY), str(tmp_path / "project")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    venv_dir = tmp_path / "project" / ".venv"
    assert len(list(venv_dir.glob("installed-by-*"))) == 1, outputs
    assert sum(output.count("creating the virtual environment") for output in outputs) == 1
    assert (venv_dir / ".compgraph-installed").exists()


def test_importing_compgraph_writes_nothing_into_the_home_directory(tmp_path):
    """matplotlib writes its font cache into the home directory when pyplot is first imported;
    importing compgraph must not do that (nor pick a plotting backend)."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")}
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", "import sys, compgraph; "
         "print('matplotlib.pyplot' in sys.modules)"],
        env={**env, "HOME": str(home), "USERPROFILE": str(home)},
        capture_output=True, text=True, cwd=RUN_PY.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == []


def test_lab_settings_save_widget_state_in_the_venv_and_on_binder(run_py, tmp_path, monkeypatch):
    """Without saveState, a notebook run and saved in JupyterLab reopens with "Error displaying
    widget: model not found" (docs/WIDGET_STATE.md); run.py and binder/postBuild install
    the same setting."""
    import json
    settings = json.loads(run_py.LAB_SETTINGS.read_text())
    assert settings["@jupyter-widgets/jupyterlab-manager:plugin"]["saveState"] is True
    monkeypatch.setattr(run_py, "VENV", tmp_path / "venv")
    run_py.ensure_lab_settings()
    installed = tmp_path / "venv" / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert json.loads(installed.read_text()) == settings
    installed.write_text("{}")  # a stale copy is replaced
    run_py.ensure_lab_settings()
    assert json.loads(installed.read_text()) == settings
    prefix = tmp_path / "binder-prefix"
    subprocess.run(["bash", str(RUN_PY.parent / "binder" / "postBuild")], check=True,
                   env={"NB_PYTHON_PREFIX": str(prefix), "PATH": "/usr/bin:/bin"})
    binder_copy = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert json.loads(binder_copy.read_text()) == settings
