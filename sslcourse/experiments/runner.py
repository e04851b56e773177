"""The command line every topic's experiments share, written once.

A topic (`sslcourse.experiments.context`, `.colorization`, `.mae`, `.simclr`) declares a `Topic`: a table of its
experiments (name -> function, help, its own options) and the options they share. The runner does the rest,
in this order, so that nothing trains before its output is known to be writable:

    parse      python -m sslcourse.experiments.TOPIC EXPERIMENT --device --out --force --allow-dirty [options]
    guard      refuse an existing --out (and the topic's other outputs) without --force, or a shipped result
               (under sslcourse/results) from a tree with uncommitted changes
    device     pick it (`--device auto`: CUDA, then MPS, then CPU), seed it (`--seed`, topics that train)
    run        the experiment's function, given a `Run` (arguments, device, the exact command)
    record     write what it returns to --out as JSON with its provenance (command, code version, device, time)

Every command line stays one flat argparse parser, so an option a topic shares between experiments is accepted
by all of them, as the GPU plan's commands (scripts/gpu_plan_steps.py) and the module docstrings write them.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sslcourse import provenance as _provenance

if TYPE_CHECKING:
    import torch


class CommandError(Exception):
    """A refusal an experiment says in one line (the runner prints it and exits 2), e.g. a resume of a result made
    with other settings."""


class Option:
    """One command-line option, given as argparse's add_argument takes it: `Option("--epochs", type=float)`."""

    def __init__(self, *flags: str, **kwargs):
        self.flags, self.kwargs = flags, kwargs

    def add_to(self, group, prefix: str = "") -> None:
        kwargs = dict(self.kwargs)
        if prefix and kwargs.get("help"):
            kwargs["help"] = f"{prefix}: {kwargs['help']}"
        group.add_argument(*self.flags, **kwargs)


@dataclass
class Run:
    """What an experiment's function gets: its arguments, the device, and the exact command (for provenance)."""

    topic: Topic
    experiment: str
    args: argparse.Namespace
    command: str  # "python -m sslcourse.experiments.TOPIC ..." exactly as given
    device: torch.device  # picked by the runner from --device
    started: float = field(default_factory=time.perf_counter)
    # The commit and cleanliness of the code that runs, taken when the run begins: the tree may change
    # (a commit, an edit) during a long run, and the record must name the code that ran.
    code_at_start: tuple = field(default_factory=lambda: _provenance.commit())
    # Recorded beside the results: the arguments, plus what the experiment adds (the configs it built from them).
    settings: dict = field(default_factory=dict)

    @property
    def out(self) -> Path:
        return Path(self.args.out)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def provenance(self) -> dict:
        """Where, how and when: `sslcourse.provenance.record` for this run's device, command and wall time."""
        return provenance(self.device, self.command, self.seconds, at_start=self.code_at_start)

    def save(self, results: dict, complete: bool = True) -> Path:
        """Write results to --out with their provenance; `complete=False` for a partial result a resume completes."""
        record = self.topic.record(self, results, complete)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(record, separators=(",", ":")) if self.topic.compact else json.dumps(record, indent=2)
        self.out.write_text(text + "\n")
        return self.out


def nested_record(run: Run, results: dict, complete: bool = True) -> dict:
    """The layout of context's, colorization's and MAE's results: the experiment's name, its results, the
    provenance, and the settings that made them."""
    return {"experiment": run.experiment, "results": results, **run.provenance(), "settings": run.settings}


@dataclass(frozen=True)
class Experiment:
    """One row of a topic's table."""

    run: Callable[[Run], dict | None]  # the results to write to --out; None when it wrote --out itself (a run folder)
    help: str
    options: tuple[Option, ...] = ()  # its own options (the parser accepts them for every experiment)
    resume: str = ""  # what --resume keeps, for an experiment that can complete a partial --out (else "")


@dataclass(frozen=True)
class Topic:
    """A topic's command line: its experiments, the options they share, and how its results are written."""

    name: str  # python -m sslcourse.experiments.NAME
    doc: str  # the module docstring: the --help text, with example commands
    experiments: dict[str, Experiment]
    options: tuple[Option, ...] = ()  # read by more than one experiment
    out_help: str = "the JSON result"
    outputs: tuple[str, ...] = ()  # further options naming an output, guarded as --out is (context's --run)
    training: bool = True  # adds --compile, --seed (seeded before the experiment runs) and --quiet
    compact: bool = False  # JSON without indentation (colorization's samples are 70,000 numbers)
    echo: bool = False  # also print the results as one JSON line (the GPU plan's logs keep it)
    record: Callable[[Run, dict, bool], dict] = nested_record

    def parser(self) -> argparse.ArgumentParser:
        p = argparse.ArgumentParser(
            prog=f"python -m sslcourse.experiments.{self.name}",
            description=self.doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument(
            "experiment",
            choices=list(self.experiments),
            help="; ".join(f"{n}: {e.help}" for n, e in self.experiments.items()),
        )
        p.add_argument(
            "--device", default="auto", help="cuda, cuda:1, mps, cpu; auto: the first of cuda, mps, cpu here"
        )
        p.add_argument("--out", required=True, help=self.out_help)
        also = "".join(f" (and --{o.replace('_', '-')})" for o in self.outputs)
        p.add_argument("--force", action="store_true", help=f"replace --out{also} if it exists")
        p.add_argument(
            "--allow-dirty",
            action="store_true",
            help="write a shipped result (under sslcourse/results) from a tree with uncommitted changes",
        )
        resumable = {name: e.resume for name, e in self.experiments.items() if e.resume}
        if resumable:
            p.add_argument(
                "--resume", action="store_true", help="; ".join(f"{n}: {what}" for n, what in resumable.items())
            )
        if self.training:
            p.add_argument(
                "--compile", action="store_true", help="torch.compile the training step (GPU runs of minutes)"
            )
            p.add_argument("--seed", type=int, default=0)
            p.add_argument("--quiet", action="store_true")
        for option in self.options:
            option.add_to(p)
        for name, experiment in self.experiments.items():
            if experiment.options:
                group = p.add_argument_group(f"{name}: {experiment.help}")
                for option in experiment.options:
                    option.add_to(group, prefix=name)
        return p

    def main(self, argv: list[str] | None = None) -> int:
        """Parse, guard the outputs, pick the device, run the experiment, write its record. Exit status 0, or 2
        after a one-line error (an existing output, a dirty tree, a refusal of the experiment's)."""
        argv = sys.argv[1:] if argv is None else list(argv)
        args = self.parser().parse_args(argv)
        experiment = self.experiments[args.experiment]
        resuming = bool(experiment.resume) and getattr(args, "resume", False)
        others = [getattr(args, name) for name in self.outputs]
        # Both checks before the device is even picked: no minutes of training thrown away on a refusal.
        if refuse_overwrite(
            args.out, force=args.force or resuming, allow_dirty=args.allow_dirty, resume=experiment.resume
        ):
            return 2
        if refuse_overwrite(*others, force=args.force, allow_dirty=args.allow_dirty):
            return 2
        from sslcourse.device import pick_device, seed_everything

        try:
            device = pick_device(args.device)
        except (ValueError, RuntimeError) as err:  # one this machine lacks (it says which it has), or no device at all
            print(f"error: {err}", file=sys.stderr)
            return 2
        if self.training:
            seed_everything(args.seed)
        command = f"python -m sslcourse.experiments.{self.name} " + shlex.join(argv)
        run = Run(self, args.experiment, args, command, device, settings=dict(vars(args)))
        try:
            results = experiment.run(run)
        except CommandError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        if results is not None:
            if self.echo:
                print(json.dumps(results))
            run.save(results)
        print(f"wrote {run.out} in {run.seconds:.0f} s")
        return 0


def refuse_overwrite(*paths, force: bool, allow_dirty: bool = False, resume: str = "") -> bool:
    """True (after saying why on stderr) when one of `paths` exists and `force` was not given, or would be
    a shipped result written from a dirty tree (see `sslcourse.provenance.require_clean`). `resume`: the
    experiment can complete what the path holds, so the message offers --resume too."""
    try:
        _provenance.require_clean(*paths, allow_dirty=allow_dirty)
    except _provenance.DirtyTreeError as err:
        print(f"error: {err}", file=sys.stderr)
        return True
    for path in paths:
        if path is not None and Path(path).exists() and not force:
            also = f" (or --resume to {resume})" if resume else ""
            print(f"error: {path} exists; pass --force to replace it{also}", file=sys.stderr)
            return True
    return False


def provenance(device, command: str, seconds: float, seeds=None, at_start=None) -> dict:
    """Where, how and when a result was computed: `sslcourse.provenance.record`, the keys every shipped
    result JSON and card carries. The seeds, unless given, are the command's own (`--seed`, default 0);
    `at_start`, the code's commit when the run began (see `Run.code_at_start`)."""
    seeds = _provenance.seeds_in(command) if seeds is None else seeds
    return _provenance.record(device, command, seconds, seeds, at_start)
