"""Shell completion, as typer offers it: --install-completion, --show-completion, and the bundled names."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nnworked import bundled

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": "100"}
# the completion variable is named after the program, so run it as the installed command is named
AS_INSTALLED = "import sys; sys.argv[0] = 'nnworked'; from nnworked.cli import main; main()"


def nnworked(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", AS_INSTALLED, *args], capture_output=True, text=True,
                          env={**ENV, **(env or {})})


def bash_completions(line: str) -> list[str]:
    words = line.split(" ")
    result = nnworked(env={"_NNWORKED_COMPLETE": "complete_bash", "COMP_WORDS": line,
                           "COMP_CWORD": str(len(words) - 1)})
    assert result.returncode == 0, result.stderr
    return [word for word in result.stdout.split("\n") if word]  # as bash splits it: empty words vanish


def test_help_offers_to_install_and_show_completion() -> None:
    result = nnworked("--help")
    assert result.returncode == 0
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout


def test_the_bash_completion_script_falls_back_to_file_names() -> None:
    result = nnworked("--show-completion", env={"SHELL": "/bin/bash"})
    assert result.returncode == 0
    assert "_NNWORKED_COMPLETE=complete_bash" in result.stdout
    assert result.stdout.rstrip().endswith("complete -o default -F _nnworked_completion nnworked")


def test_commands_complete() -> None:
    assert bash_completions("nnworked sh") == ["show"]


@pytest.mark.parametrize("command", ["run", "show", "validate", "verify"])
def test_a_scenario_argument_completes_the_bundled_names(command: str) -> None:
    assert bash_completions(f"nnworked {command} sp") == ["spam"]


def test_a_folder_of_bundled_names_completes_to_its_scenarios() -> None:
    assert bash_completions("nnworked run ai-by-hand/") == [n for n in bundled.names() if n.startswith("ai-by-hand/")]


def test_a_path_gets_no_bundled_name_so_the_shell_completes_files() -> None:
    assert bash_completions("nnworked run ./my") == []
