"""run.py, the set-up script: which installer it chooses for a missing system program, and the
advice it gives when it cannot install without a password. Nothing is installed: the programs
on PATH, the user id, the environment and every subprocess are faked."""

from __future__ import annotations

import importlib.util
import subprocess
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
