"""The experiments' shared command line (sslcourse/experiments/runner.py), on a toy topic that trains nothing,
and every topic's documented commands parsed by its own table."""

import importlib
import json
import re
import shlex

import pytest

from sslcourse.experiments.runner import CommandError, Experiment, Option, Topic

TOPICS = ("context", "colorization", "mae", "simclr")


def toy(calls):
    """A topic with a JSON experiment, a run-folder one, a resumable one and one that refuses."""

    def measure(run):
        calls.append(run.experiment)
        run.settings["config"] = {"scale": run.args.scale}
        return {"value": 2 * run.args.scale}

    def folder(run):
        calls.append(run.experiment)
        run.out.mkdir()
        (run.out / "card.json").write_text("{}")

    def grid(run):
        calls.append(run.experiment)
        run.save({"cells": [1]}, complete=False)  # as a long study does after every cell
        return {"cells": [1, 2]}

    def refuse(run):
        raise CommandError("not with these settings")

    return Topic(
        "toy",
        "A toy topic.",
        {
            "measure": Experiment(
                measure, "doubles --scale", (Option("--scale", type=int, default=3, help="a number"),)
            ),
            "folder": Experiment(folder, "writes a run folder"),
            "grid": Experiment(grid, "a resumable study", resume="keep what --out holds"),
            "refuse": Experiment(refuse, "always refuses"),
        },
        outputs=("run",),
        options=(Option("--run", help="a second output"),),
    )


def test_a_result_is_written_with_its_provenance_and_the_exact_command(tmp_path, capsys):
    calls = []
    out = tmp_path / "r.json"
    argv = ["measure", "--device", "cpu", "--scale", "5", "--seed", "7", "--out", str(out)]
    assert toy(calls).main(argv) == 0
    record = json.loads(out.read_text())
    assert record["experiment"] == "measure" and record["results"] == {"value": 10}
    assert record["command"] == "python -m sslcourse.experiments.toy " + shlex.join(argv)  # argv, not pytest's
    assert record["computed_on"] == "CPU" and record["seeds"] == [7] and record["wall_time_s"] >= 0
    assert record["settings"]["scale"] == 5 and record["settings"]["config"] == {"scale": 5}
    assert f"wrote {out}" in capsys.readouterr().out


def test_the_record_names_the_code_as_it_was_when_the_run_began(tmp_path, monkeypatch):
    """A long run records the commit it started from, not whatever the checkout holds when it ends (an edit or
    a commit made while it ran would otherwise be credited with results it did not produce)."""
    from sslcourse import provenance

    checkout = {"now": ("abc1234", True)}
    monkeypatch.setattr(provenance, "commit", lambda *a, **k: checkout["now"])

    def edit_while_running(run):
        checkout["now"] = ("def5678", False)  # someone commits or edits while the run trains
        return {"value": 1}

    topic = Topic("toy", "A toy topic.", {"measure": Experiment(edit_while_running, "edits the tree")})
    out = tmp_path / "r.json"
    assert topic.main(["measure", "--device", "cpu", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["code_version"] == "abc1234" and record["clean_tree"] is True


def test_outputs_are_checked_before_the_experiment_runs(tmp_path, capsys):
    calls = []
    out, run = tmp_path / "r.json", tmp_path / "run"
    out.write_text("mine")
    assert toy(calls).main(["measure", "--device", "cpu", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and out.read_text() == "mine" and calls == []
    run.mkdir()
    assert toy(calls).main(["measure", "--device", "cpu", "--out", str(tmp_path / "new.json"), "--run", str(run)]) == 2
    assert calls == [] and not (tmp_path / "new.json").exists()  # the topic's other outputs are guarded too
    assert toy(calls).main(["measure", "--device", "cpu", "--out", str(out), "--force"]) == 0 and calls == ["measure"]


def test_resume_excuses_an_existing_out_only_for_an_experiment_that_can_resume(tmp_path, capsys):
    calls = []
    out = tmp_path / "grid.json"
    out.write_text("{}")
    assert toy(calls).main(["measure", "--device", "cpu", "--out", str(out), "--resume"]) == 2 and calls == []
    assert toy(calls).main(["grid", "--device", "cpu", "--out", str(out)]) == 2
    assert "--resume to keep what --out holds" in capsys.readouterr().err
    assert toy(calls).main(["grid", "--device", "cpu", "--out", str(out), "--resume"]) == 0
    assert json.loads(out.read_text())["results"] == {"cells": [1, 2]}  # the final save replaced the partial one


def test_a_run_folder_is_left_as_the_experiment_wrote_it(tmp_path):
    calls = []
    out = tmp_path / "run"
    assert toy(calls).main(["folder", "--device", "cpu", "--out", str(out)]) == 0
    assert [p.name for p in out.iterdir()] == ["card.json"]


def test_refusals_and_missing_devices_are_one_line_and_exit_2(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert toy([]).main(["refuse", "--device", "cpu", "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == "error: not with these settings" and not out.exists()
    assert toy([]).main(["measure", "--device", "tpu", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "tpu" in err and "Traceback" not in err


@pytest.mark.parametrize("topic", TOPICS)
def test_every_documented_command_parses_with_its_topics_table(topic):
    """The commands in the module's docstring (the ones the README and the GPU plan copy) stay valid."""
    module = importlib.import_module(f"sslcourse.experiments.{topic}")
    doc = module.__doc__.replace("\\\n", " ")
    commands = re.findall(rf"python -m sslcourse\.experiments\.{topic} (.+)", doc)
    assert commands, f"no example command in sslcourse/experiments/{topic}.py's docstring"
    parser = module._parser()
    for line in commands:
        args = parser.parse_args(shlex.split(line.replace("$loss", "l2"), comments=True))
        assert args.experiment in module.CLI.experiments and args.out
