"""What a new user reads first: --help with its defaults, the settings list, --set as documented, --threads."""

from __future__ import annotations

import json
import time
from dataclasses import fields
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from aroma.cli import app
from aroma.console import PIPE_WIDTH, output_width
from aroma.errors import AromaError
from aroma.threads import busy_cores, choose_threads
from aroma.train.config import LoraSettings, TrainSettings

runner = CliRunner()


def _commands(group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_default_survives_the_help_formatter() -> None:
    """Rich markup eats `[...]` in help strings: defaults go through show_default and must be printed."""
    checked = 0
    for path, command in _commands(typer.main.get_command(app)):
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "400"})
        assert result.exit_code == 0, (path, result.output)
        for param in command.params:
            assert "[" not in (getattr(param, "help", None) or ""), (path, param.name, "rich would eat it")
            if isinstance(param.show_default, str):
                assert f"[default: ({param.show_default})]" in result.output, (path, param.name)
                checked += 1
    assert checked >= 20  # --db on every graph command, --sources, --perturbqa, ...


@pytest.mark.parametrize("command", [["dataset", "generate"], ["train", "classifier"], ["train", "predictor"],
                                     ["bench"], ["eval"]])
def test_perturbqa_option_has_help_and_default(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "400"})
    line = next(l for l in result.output.splitlines() if "--perturbqa" in l)
    assert "NAME-de.csv" in line and "[default: ($AROMA_DATA/perturbqa)]" in line


def test_help_names_no_cell_line() -> None:
    """Cell lines are data: no command's help names one."""
    for path, _ in _commands(typer.main.get_command(app)):
        text = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "400"}).output.lower()
        assert not {"k562", "rpe1", "hepg2", "jurkat"} & set(text.replace("/", " ").replace(",", " ").split()), path


def test_settings_lists_every_setting_with_its_default() -> None:
    result = runner.invoke(app, ["train", "settings", "--json"])
    assert result.exit_code == 0, result.output
    listed = {row["key"]: row for row in json.loads(result.output)}
    expected = {f.name for f in fields(TrainSettings) if f.name != "lora"}
    expected |= {f"lora.{f.name}" for f in fields(LoraSettings)}
    assert set(listed) == expected
    assert listed["batch_size"]["default"] == TrainSettings().batch_size
    assert listed["lora.target_modules"]["default"] == LoraSettings().target_modules
    assert all(row["help"] for row in listed.values())
    table = runner.invoke(app, ["train", "settings"])
    assert "max_completion_length" in table.output and "lora.rank" in table.output


def test_set_takes_several_values_after_one_flag(tmp_path: Path) -> None:
    base = ["train", "sft", "--data", str(tmp_path / "none"), "--base-model", str(tmp_path / "none"),
            "--embeddings", str(tmp_path / "none"), "--out", str(tmp_path / "out")]
    # the second word reaches the settings parser: a typo in it is named
    typo = runner.invoke(app, [*base, "--set", "max_steps=2", "batch_sizze=2"])
    assert typo.exit_code == 1 and "unknown training setting(s): batch_sizze" in typo.output, typo.output
    # the README's form parses; the run then stops at the missing embeddings, not at the arguments
    good = runner.invoke(app, [*base, "--set", "max_steps=2", "batch_size=2", "--set", "lora.rank=4"])
    assert good.exit_code == 1 and "unexpected" not in good.output and "Traceback" not in good.output, good.output
    stray = runner.invoke(app, [*base, "--set", "max_steps=2", "oops"])
    assert stray.exit_code == 2 and "'oops'" in stray.output


def test_thread_count_option_and_environment(monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("AROMA_THREADS", "3")
    assert choose_threads() == 3 and choose_threads(2) == 2
    monkeypatch.delenv("AROMA_THREADS")
    assert 1 <= choose_threads() <= len(__import__("os").sched_getaffinity(0))
    monkeypatch.setenv("AROMA_THREADS", "many")
    with pytest.raises(AromaError, match="AROMA_THREADS='many'"):
        choose_threads()
    result = runner.invoke(app, ["--threads", "0", "train", "settings"])
    assert result.exit_code == 2


def test_busy_cores_counts_work_running_now_and_forgets_it_when_it_ends() -> None:
    """The free-core count follows the machine now, not the 1-minute load average of a command that just ended."""
    import subprocess
    import sys

    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        while_spinning = busy_cores(0.5)
    finally:
        spinner.kill()
        spinner.wait()
    assert while_spinning >= 0.6, while_spinning
    assert busy_cores(0.5) <= while_spinning - 0.5


def test_library_progress_bars_are_off_when_the_output_is_not_a_terminal() -> None:
    """Bars drawn with tqdm by a library the toolkit calls (transformers' GGUF loading) stay out of a log file:
    tqdm reads TQDM_DISABLE when first imported, so the command line sets it before any library loads."""
    import subprocess
    import sys

    script = ("import os; os.environ.pop('TQDM_DISABLE', None)\n"
              "from aroma.cli import app\n"
              "try:\n    app(['train', 'settings'])\nexcept SystemExit:\n    pass\n"
              "from tqdm.auto import tqdm\n"
              "for _ in tqdm(range(3), desc='a library bar'):\n    pass\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "a library bar" not in run.stderr and "\r" not in run.stderr


def test_output_is_not_wrapped_at_80_columns_when_piped(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    with (tmp_path / "log").open("w") as log:
        assert output_width(log) == PIPE_WIDTH
    monkeypatch.setenv("COLUMNS", "120")
    with (tmp_path / "log").open("w") as log:
        assert output_width(log) is None  # rich then honours COLUMNS
