"""Command line: `python -m sslcourse COMMAND ...` (run with --help for each command)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from datetime import datetime
from pathlib import Path


def _subset(train, test, n):
    """Balanced subsets for quick smoke runs on a CPU (the files are sorted by class): n train, n/5 test."""
    if not n:
        return train, test
    from sslcourse.data import balanced_subset

    keep_train, keep_test = balanced_subset(train[1], n), balanced_subset(test[1], max(10, n // 5))
    return (train[0][keep_train], train[1][keep_train]), (test[0][keep_test], test[1][keep_test])


def _setting(text: str) -> tuple[str, object]:
    """KEY=VALUE from `--set`: VALUE as JSON where it parses (0.2, 3, true), else a string; a comma makes a list."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, e.g. label_smoothing=0.2, got {text!r}")

    def parse(v: str):
        try:
            return json.loads(v)
        except ValueError:
            return v

    return key.strip(), [parse(v) for v in value.split(",")] if "," in value else parse(value)


def _method_settings(spec, arch: str, settings: dict) -> None:
    """Refuse a --set key that neither the method's builder nor the architecture takes, naming the valid ones."""
    import inspect

    from sslcourse.models import MODELS

    def names(fn):
        return {
            n for n, p in inspect.signature(fn).parameters.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        }

    valid = (names(spec.build) | (names(MODELS[arch]) if arch in MODELS else set())) - {"arch"}
    unknown = sorted(set(settings) - valid)
    if unknown:
        raise ValueError(
            f"--set {', '.join(unknown)}: not a setting of {spec.name} with {arch}; "
            f"valid keys: {', '.join(sorted(valid))}"
        )


def _head_metrics(model, images, labels, device) -> dict:
    """A classifier's own test accuracy, plain and with flip test-time augmentation; nothing for a backbone."""
    if not getattr(model, "num_classes", 0):
        return {}
    from sslcourse import evaluate

    acc = evaluate.classifier_accuracies(model, images, labels, device=device)
    return {"test_top1": acc["plain"], "test_top1_flip_tta": acc["flip_tta"]}


def _train(args) -> int:

    from sslcourse import data, evaluate, methods, pretrained, provenance
    from sslcourse.device import pick_device, seed_everything

    spec = methods.get(args.method)
    overrides = {
        k: v
        for k, v in {
            "minutes": args.minutes,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "seed": args.seed,
        }.items()
        if v is not None
    }
    if args.compile:
        overrides["compile"] = True
    cfg = spec.recipe.__class__(**{**spec.recipe.__dict__, **overrides})
    out = Path(args.out or f"runs/{args.method}-{datetime.now():%Y%m%d-%H%M%S}")
    if (out / "card.json").exists() and not (args.resume or args.force):
        print(
            f"error: {out} already holds a trained model; pass --resume to continue it, --force to replace "
            "it, or choose another --out",
            file=sys.stderr,
        )
        return 2
    if (out / "checkpoint.pt").exists() and not (args.resume or args.force):
        print(
            f"error: {out} holds an unfinished run (checkpoint.pt); pass --resume to continue it, --force to "
            "replace it, or choose another --out",
            file=sys.stderr,
        )
        return 2
    try:  # before training, not after: a run of minutes must not be lost to a folder it cannot write
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        print(f"error: cannot write into {out} ({e.strerror or e}); choose another --out", file=sys.stderr)
        return 2
    device = pick_device(args.device)
    seed_everything(cfg.seed)
    settings = dict(args.set or [])
    _method_settings(spec, args.arch, settings)
    method_kwargs = {"arch": args.arch, **({"width": args.width} if args.width is not None else {}), **settings}
    method = spec.build(**method_kwargs)

    (train_x, train_y), (test_x, test_y) = _subset(data.load_cifar10("train"), data.load_cifar10("test"), args.subset)
    print(f"training {args.method} ({method_kwargs}) on {len(train_x)} images: {cfg}")
    from sslcourse.train import train

    result = train(
        method,
        train_x,
        train_y,
        cfg,
        device=device,
        checkpoint=out / "checkpoint.pt",
        resume=args.resume,
        overwrite=args.force,
        progress=not args.quiet,
    )
    print(
        f"trained {result.steps} steps ({result.epochs:.1f} epochs) in {result.seconds:.1f} s, "
        f"{result.samples_per_s:.0f} images/s, stopped by {result.stopped_by}"
    )

    t_eval = time.perf_counter()
    metrics = evaluate.evaluate_backbone(method.backbone, (train_x, train_y), (test_x, test_y), device=device)
    metrics.update(_head_metrics(method.backbone, test_x, test_y, device))
    metrics = {k: round(v, 2) if isinstance(v, float) else v for k, v in metrics.items()}
    metrics["eval_seconds"] = round(time.perf_counter() - t_eval, 1)
    card = provenance.card(
        out.name,
        args.method,
        method_kwargs,
        spec.summary,
        f"CIFAR-10 train ({len(train_x)} images), evaluated on test ({len(test_x)} images)",
        result,
        cfg,
        device,
        "python -m sslcourse " + shlex.join(sys.argv[1:]),
        metrics,
        architecture=provenance.architecture(args.method, method_kwargs),
    )
    pretrained.save(method, out, card)
    (out / "history.json").write_text(json.dumps(result.history) + "\n")
    print(json.dumps({"out": str(out), **metrics}))
    return 0


def _eval(args) -> int:

    from sslcourse import data, evaluate, pretrained, provenance
    from sslcourse.device import pick_device

    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not args.force:  # before the minutes of evaluation, not after
        print(f"error: {out} exists; pass --force to replace it", file=sys.stderr)
        return 2
    try:
        provenance.require_clean(out, allow_dirty=args.allow_dirty)
    except provenance.DirtyTreeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    device = pick_device(args.device)
    floor = {}
    if args.checkpoint.startswith("random"):  # an untrained network: the bottom end of the scale
        model, floor = _untrained(args.checkpoint.partition(":")[2] or "resnet18", args.seed)
        model = model.to(device).eval()
        # The weights evaluated, by their sha256: an untrained network's state, hashed as built.
        weights = {"weights_sha256": provenance.state_sha256(model), "weights_hashed": "the untrained state"}
    else:
        model = pretrained.load(args.checkpoint, device=device)  # checks the file against its card's sha256
        weights = {"weights_sha256": pretrained.card(args.checkpoint)["sha256"], "weights_hashed": "the file"}
    train, test = _subset(data.load_cifar10("train"), data.load_cifar10("test"), args.subset)
    few = tuple(int(n) for n in args.few_label.split(",")) if args.few_label else ()
    t = time.perf_counter()
    metrics = evaluate.evaluate_backbone(model, train, test, k=args.k, few_label=few, device=device, progress=True)
    metrics.update(_head_metrics(model, test[0], test[1], device))
    metrics = {k: round(v, 2) if isinstance(v, float) else v for k, v in metrics.items()}
    print(json.dumps(metrics))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        rec = provenance.record(
            device,
            "python -m sslcourse " + shlex.join(sys.argv[1:]),
            time.perf_counter() - t,
            seeds=[args.seed] if args.checkpoint.startswith("random") else [0],
        )
        out.write_text(
            json.dumps(
                {
                    "weights": args.checkpoint,
                    **weights,
                    **floor,
                    "metrics": metrics,
                    "seconds": rec["wall_time_s"],
                    **rec,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"wrote {out}")
    return 0


def _untrained(what: str, seed: int):
    """An untrained network and what it is: `random:ARCH` (e.g. resnet18, half width), or `random:NAME` for
    a shipped entry's own method, architecture, width and input, untrained: the floor it is measured against."""
    import torch

    from sslcourse import methods, pretrained, provenance
    from sslcourse.models import build_model

    torch.manual_seed(seed)
    if what in pretrained.available():
        c = pretrained.card(what)
        arch = provenance.architecture(c["method"], c.get("method_kwargs", {}))
        return methods.build(c["method"], **c.get("method_kwargs", {})).backbone, {
            "floor_of": what,
            "architecture": arch,
        }
    return build_model(what), {"architecture": provenance.architecture("random", {"arch": what})}


def _data(args) -> int:
    from sslcourse import data, pack
    from sslcourse.instructor import datapack

    if args.action == "pack":
        root = data.jpeg_root()
        if root is None or not root.is_dir():
            print(
                "error: set SSLCOURSE_DATA to the folder that holds cifar10-jpeg/ (the offline JPEG tree)",
                file=sys.stderr,
            )
            return 2
        out = Path(args.out)
        if out.exists() and not args.force:
            print(f"error: {out} exists; pass --force to replace it", file=sys.stderr)
            return 2
        t = time.perf_counter()
        header = datapack.write_pack(root, out)
        print(
            f"packed {len(header['entries'])} JPEGs from {root} into {out} "
            f"({out.stat().st_size / 1e6:.1f} MB, shared prefix {len(header['prefix']) * 3 // 4} bytes) "
            f"in {time.perf_counter() - t:.1f} s; tree sha256 {header['tree_sha256']}"
        )
        print(f"on the machine that trains, put it at {data.pack_path()} or set SSLCOURSE_PACK to its path")
    elif args.action == "verify":
        print(f"{args.out}: tree sha256 {pack.verify_pack(Path(args.out))} (matches its record)")
    else:  # info
        for split in ("train", "test"):
            x, y = data.load_cifar10(split)
            print(
                f"{split}: images {tuple(x.shape)} {x.dtype}, labels {tuple(y.shape)}; cache {data.cache_path(split)}"
            )
        print(f"source: {data.describe_source()}")
    return 0


def _ship(args) -> int:
    from sslcourse import pretrained

    path = pretrained.ship(args.run, args.name, force=args.force, allow_dirty=args.allow_dirty)
    print(f"shipped {args.run} as {args.name}: {path}")
    return 0


def _course(args) -> int:
    from sslcourse.instructor.nbtools import run

    return run.run_course(out_dir=Path(args.out), timeout=args.timeout)


def _list(args) -> int:
    from sslcourse import methods, pretrained

    print("methods:")
    for name, spec in methods.registry().items():
        print(f"  {name:12s} {spec.summary}")
    print("shipped weights:")
    for name in pretrained.available():
        c = pretrained.card(name)
        print(f"  {name:28s} {c['method']:10s} {c['trained_on']:4s} {json.dumps(c.get('metrics', {}))}")
    return 0


def _readme(args) -> int:
    from sslcourse.instructor import course

    changed = course.update_readme()
    print("README.md course map " + ("rewritten" if changed else "already up to date"))
    return 0


def _notebooks(args) -> int:
    from sslcourse.instructor.nbtools import sync

    if args.action == "sync":
        return sync.sync(args.names, force=args.force, timeout=args.timeout)
    return sync.check(args.names)


def _assign(args) -> int:
    from sslcourse.instructor.nbtools import assign

    return assign.assign(args.names, force=args.force, check_runs=args.run, timeout=args.timeout)


GRADING_NEEDS_POSIX = (
    "grading needs Linux, WSL (Windows Subsystem for Linux) or macOS: it limits each submission's memory and "
    "processes with POSIX's `resource` module, which Windows lacks. Everything else in the course runs here; "
    "grade from WSL or a Linux machine."
)


def _grade(args) -> int:
    try:
        import resource  # noqa: F401  (POSIX only)
    except ImportError:
        print(f"error: {GRADING_NEEDS_POSIX}", file=sys.stderr)
        return 2
    from sslcourse.instructor.grading import classroom

    return classroom.cli(args)


def _release(args) -> int:
    from sslcourse.instructor import release

    return release.release(create=not args.check)


def _slides(args) -> int:
    from sslcourse.instructor.nbtools import slides

    return slides.build_slides(args.names, out_dir=args.out)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sslcourse", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a method and evaluate it (writes weights, card and checkpoint)")
    t.add_argument("method", help="a method name (see `python -m sslcourse list`)")
    t.add_argument("--minutes", type=float, help="wall-clock budget; the schedule follows it")
    t.add_argument("--epochs", type=float, help="number of epochs (an upper bound with --minutes)")
    t.add_argument("--device", default="auto", help="cuda, mps, cpu or auto (default)")
    t.add_argument("--out", help="output folder (default runs/METHOD-TIMESTAMP)")
    t.add_argument("--arch", default="resnet18")
    t.add_argument("--width", type=float, help="width multiplier of the ResNet (default: the course's 0.5)")
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--seed", type=int)
    t.add_argument(
        "--set",
        action="append",
        type=_setting,
        metavar="KEY=VALUE",
        help="a setting of the method or its model, repeatable, e.g. --set label_smoothing=0.2 "
        "--set augmentations=translate,flip,cutout (recorded in the card)",
    )
    t.add_argument("--compile", action="store_true", help="torch.compile the model (GPU runs of minutes)")
    t.add_argument("--subset", type=int, help="train on the first N images only (smoke tests)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out")
    t.add_argument("--force", action="store_true", help="replace what --out holds")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)

    e = sub.add_parser("eval", help="evaluate weights: kNN, linear probe (and few-label fine-tuning)")
    e.add_argument(
        "checkpoint",
        help="a shipped name, a run folder, a .safetensors file with its card, "
        "or random[:ARCH|:NAME] for an untrained network (NAME: a shipped entry's own architecture, "
        "width and input, untrained: its matched floor)",
    )
    e.add_argument("--device", default="auto")
    e.add_argument("--k", type=int, default=20)
    e.add_argument("--few-label", help="labels per class for fine-tuning, e.g. 1,10,100")
    e.add_argument("--subset", type=int, help="evaluate on N training images only (smoke tests)")
    e.add_argument("--seed", type=int, default=0, help="initialisation seed for random[:ARCH]")
    e.add_argument("--out", help="also write the metrics with their provenance to this JSON file")
    e.add_argument("--force", action="store_true", help="replace --out if it exists")
    e.add_argument("--allow-dirty", action="store_true", help="write --out under sslcourse/results from a dirty tree")
    e.set_defaults(func=_eval)

    d = sub.add_parser("data", help="CIFAR-10: info, or pack it into one file for a machine without network")
    d.add_argument("action", choices=["info", "pack", "verify"])
    d.add_argument("out", nargs="?", default="data/cifar10.pack", help="pack file (pack, verify)")
    d.add_argument("--force", action="store_true")
    d.set_defaults(func=_data)

    s = sub.add_parser("ship", help="copy a run's weights and card into the shipped registry")
    s.add_argument("run")
    s.add_argument("name")
    s.add_argument("--force", action="store_true")
    s.add_argument("--allow-dirty", action="store_true", help="ship a run trained from a dirty tree")
    s.set_defaults(func=_ship)

    c = sub.add_parser("course", help="execute every notebook end to end (no browser)")
    c.add_argument("--out", default="build/executed")
    c.add_argument("--timeout", type=int, default=1200, help="seconds per cell")
    c.set_defaults(func=_course)

    ls = sub.add_parser("list", help="the methods and the shipped weights")
    ls.set_defaults(func=_list)

    r = sub.add_parser("readme", help="rewrite the README's course map from the repository-URL setting")
    r.set_defaults(func=_readme)

    nb = sub.add_parser(
        "notebooks",
        help="sync: build and execute each notebooks/NN_topic.py into its .ipynb; "
        "check: say which pairs are out of sync",
    )
    nb.add_argument("action", choices=["sync", "check"])
    nb.add_argument("names", nargs="*", help="notebooks, e.g. 00 or 00_gelato_bet (default: all)")
    nb.add_argument("--force", action="store_true", help="sync: overwrite a .ipynb edited by hand")
    nb.add_argument("--timeout", type=int, default=1200, help="seconds per cell")
    nb.set_defaults(func=_notebooks)

    a = sub.add_parser(
        "assign",
        help="write the student notebooks (solutions replaced by stubs, no outputs) into notebooks/student/",
    )
    a.add_argument("names", nargs="*", help="notebooks, e.g. 00 or 00_gelato_bet (default: all)")
    a.add_argument("--force", action="store_true", help="overwrite student notebooks edited by hand")
    a.add_argument("--run", action="store_true", help="also run each one end to end first (its outputs are not kept)")
    a.add_argument("--timeout", type=int, default=1200, help="seconds per cell (with --run)")
    a.set_defaults(func=_assign)

    rl = sub.add_parser(
        "release",
        help="tag this commit v<version>, the release the badges open and the Colab setup cells install, "
        "after checking that its notebooks are up to date",
    )
    rl.add_argument("--check", action="store_true", help="only check that the tag exists and names this commit")
    rl.set_defaults(func=_release)

    sl = sub.add_parser("slides", help="build offline reveal.js decks from the notebooks' slide cells into slides/")
    sl.add_argument("names", nargs="*", help="notebooks, e.g. 00 or 00_gelato_bet (default: all)")
    sl.add_argument("--out", help="output folder (default: slides/)")
    sl.set_defaults(func=_slides)

    g = sub.add_parser(
        "grade",
        help="grade student notebooks into a sheet (each in its own sandboxed kernel)",
        description="Grade submitted notebooks into a CSV sheet: one row per submission (student, "
        "points per exercise, total, max_total, status ok/error/timeout, notes). Points come from the "
        "course's own checkers, run outside the submission's reach; written questions get an empty column "
        "each, to grade by hand from SHEET-answers.md beside the sheet (the totals are then named auto_total "
        "and auto_max_total); see sslcourse/instructor/grading/.",
    )
    from sslcourse.instructor.grading import options as grade_options

    grade_options.add_to(g)
    g.set_defaults(func=_grade)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileExistsError, FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
