"""Hostile text and damaged files at the CLI's edges: every string from a model, a server,
a task file or a path printed as text; damaged run directories and changed graph files
refused with one line (exit 2), never a traceback; no special-purpose address browsed."""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import subprocess
import sys
from pathlib import Path

import pytest

from looplab.records import Attempt, TaskResult, Trajectory
from looplab.report import SafeConsole, printable
from looplab.tools import check_address


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "looplab.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def one_line_error(done: subprocess.CompletedProcess, *needles: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert "Traceback" not in done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


# -- addresses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address", ["fec0::1", "192.0.0.8", "3fff::1", "2001:db8::5", "100.64.1.1", "5f00::1"]
)
def test_special_purpose_addresses_are_refused(address):
    assert check_address(ipaddress.ip_address(address)) is not None


def test_public_addresses_still_pass():
    for address in ("8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"):
        assert check_address(ipaddress.ip_address(address)) is None


# -- the terminal ----------------------------------------------------------------------------

CONTROL_CLASSES = {
    "C0 bell": "\x07",
    "C0 backspace": "\x08",
    "CSI clear screen": "\x1b[2J",
    "OSC title": "\x1b]0;pwned\x07",
    "OSC 52 clipboard": "\x1b]52;c;cHduZWQ=\x07",
    "C1 CSI": "\x9b2J",
    "C1 OSC": "\x9d0;pwned\x9c",
    "DEL": "\x7f",
    "bidi override": "\u202eevil",
    "carriage return": "fake\rline",
}


@pytest.mark.parametrize("name", list(CONTROL_CLASSES))
def test_no_control_character_reaches_the_terminal(name):
    hostile = f"answer {CONTROL_CLASSES[name]} [/x] [bold]"
    buffer = io.StringIO()
    console = SafeConsole(file=buffer, force_terminal=True, color_system=None, width=300)
    console.print(hostile)
    console.rule(hostile)
    shown = buffer.getvalue()
    for char in CONTROL_CLASSES[name]:
        if not char.isprintable() or (ord(char) >= 0x80 and not char.isalnum()):
            assert char not in shown, (name, shown)
    assert "[/x]" in shown and "[bold]" in shown  # text, not markup
    assert printable(hostile).isprintable()


def test_model_text_with_markup_does_not_crash_the_cli():
    done = cli("tool", "calc", "[/x]")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "[/x]" in done.stderr
    one_line_error(cli("report", "dir[/x]"), "dir[/x]")


# -- damaged run directories -----------------------------------------------------------------


def make_run(root: Path, config: dict | None = None, graph_sha256: str | None = None) -> Path:
    run = root / "run"
    run.mkdir()
    manifest = {
        "config": config if config is not None else {"tasks": "arithmetic:n=2",
                                                     "graph": "self_refine", "model": "local"},
        "started": "2026-01-01T00:00:00+00:00", "versions": {}, "python": "3.11",
        "platform": "linux", "graph_sha256": graph_sha256,
    }  # fmt: skip
    (run / "manifest.json").write_text(json.dumps(manifest))
    result = TaskResult(
        task_id="arith-d2s1-0-0",
        trajectory=Trajectory(
            task_id="arith-d2s1-0-0", graph="self_refine", attempts=[Attempt(iteration=0, text="1")]
        ),
        grades=[False],
    )
    (run / "trajectories.jsonl").write_text(result.model_dump_json() + "\n")
    return run


def test_invalid_utf8_in_the_results_is_one_line(tmp_path):
    run = make_run(tmp_path)
    with (run / "trajectories.jsonl").open("ab") as f:
        f.write(b'{"task_id": "\xff\xfe"}\n')
    one_line_error(cli("report", str(run)), "trajectories.jsonl:2")
    one_line_error(cli("compare", str(run), str(run)), "trajectories.jsonl:2")


@pytest.mark.parametrize(
    "config, needle",
    [
        ({"graph": "self_refine", "model": "local"}, "has no tasks"),
        ({"tasks": "arithmetic", "graph": "self_refine", "model": "local", "limit": "x"},
         "limit"),
    ],
)  # fmt: skip
def test_a_damaged_manifest_is_one_line(tmp_path, config, needle):
    run = make_run(tmp_path, config)
    one_line_error(cli("report", str(run)), "manifest.json", needle)
    one_line_error(cli("eval", "--resume", str(run)), "manifest.json", needle)


def test_malformed_recorded_completions_refuse_a_resume(tmp_path):
    run = make_run(tmp_path)
    (run / "completions.jsonl").write_text('{"task": ["a", 0]}\nnot json at all\n')
    one_line_error(cli("eval", "--resume", str(run)), "completions.jsonl:2")


def test_a_graph_name_with_dollar_signs_plots(tmp_path):
    from looplab.metrics import compute_metrics
    from looplab.report import write_plots

    result = TaskResult(
        task_id="t",
        trajectory=Trajectory(task_id="t", graph="$\\frac{x$", attempts=[Attempt(iteration=0,
                                                                                 text="1")]),
        grades=[True],
    )  # fmt: skip
    assert write_plots(compute_metrics([result]), tmp_path / "plots")


# -- the code a run was made with --------------------------------------------------------------


def test_resume_refuses_a_graph_file_that_changed(tmp_path):
    graph = tmp_path / "mine.py"
    graph.write_text("def build(setup):\n    raise SystemExit('never run')\n")
    made_with = hashlib.sha256(b"def build(setup): ...\n").hexdigest()
    config = {"tasks": "arithmetic:n=2", "graph": f"{graph}:build", "model": "local"}
    run = make_run(tmp_path, config, graph_sha256=made_with)
    now = hashlib.sha256(graph.read_bytes()).hexdigest()
    one_line_error(
        cli("eval", "--resume", str(run)), "is not the graph that made this run", made_with, now
    )
    forked = cli("fork", str(run), "--at", "1", "--feedback", "none")
    assert forked.returncode == 2 and "Traceback" not in forked.stderr
    last = forked.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and made_with in last


# -- files inside a run directory ----------------------------------------------------------


@pytest.mark.parametrize(
    "planted, command",
    [
        ("report.html", ("report",)),
        ("plots", ("report",)),
        ("export-sft", ("export", "--as", "sft")),
        ("export-sft/README.md", ("export", "--as", "sft")),
        ("export-sft/sft.jsonl", ("export", "--as", "sft")),
    ],
)
def test_no_write_follows_a_symlink_planted_in_a_run(tmp_path, planted, command):
    run = make_run(tmp_path)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    if "/" in planted:
        (run / planted.split("/")[0]).mkdir()
    target = victim if planted in ("plots", "export-sft") else victim / "precious.txt"
    (run / planted).symlink_to(target)
    done = cli(command[0], str(run), *command[1:])
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "symlink" in done.stderr.strip().splitlines()[-1]
    assert [p.name for p in victim.iterdir()] == ["precious.txt"]
    assert (victim / "precious.txt").read_text() == "keep me"


def test_an_export_never_replaces_a_readme_it_did_not_write(tmp_path):
    run = make_run(tmp_path)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "README.md").write_text("# my project\n")
    done = cli("export", str(run), "--as", "sft", "--out", str(folder / "x.jsonl"))
    one_line_error(done, "README.md", "not a looplab dataset card")
    assert (folder / "README.md").read_text() == "# my project\n"
    assert not (folder / "x.jsonl").exists()
    again = cli("export", str(run), "--as", "sft", "--out", str(tmp_path / "new" / "x.jsonl"))
    assert again.returncode == 0, again.stderr
    rewritten = cli("export", str(run), "--as", "sft", "--out", str(tmp_path / "new" / "x.jsonl"))
    assert rewritten.returncode == 0, rewritten.stderr  # its own card may be replaced


@pytest.mark.parametrize("where", ["/proc/x.jsonl", "FILE/x.jsonl"])
def test_an_unwritable_output_path_is_one_line(tmp_path, where):
    run = make_run(tmp_path)
    (tmp_path / "FILE").write_text("a file, not a folder")
    out = where.replace("FILE", str(tmp_path / "FILE"))
    one_line_error(cli("export", str(run), "--as", "sft", "--out", out))
    one_line_error(cli("report", str(run), "--csv", out.replace(".jsonl", ".csv")))


def test_looplab_run_prints_a_hostile_models_text_as_text():
    """A model that writes escape sequences and markup (here the critic, in its feedback):
    `looplab run` shows them as text."""
    from tests.helpers.delay_server import DelayServer

    hostile = "\x1b]0;pwned\x07\x1b[2J\x9b31m [/x] [bold red]"
    server = DelayServer(prefix=hostile)
    try:
        done = cli(
            "run", "--model", f"openai:fake@{server.base_url}", "--graph", "critic_loop",
            "--max-iters", "1", "What is 2 + 2?",
        )  # fmt: skip
    finally:
        server.close()
    assert done.returncode == 0, done.stderr
    shown = done.stdout + done.stderr
    assert "\x1b" not in shown and "\x9b" not in shown and "\x07" not in shown
    assert "\\x1b]0;pwned\\x07" in shown and "[/x] [bold red]" in shown
