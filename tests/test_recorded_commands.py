"""Provenance closed: every shipped record's command still parses and names something that exists, and every
protocol row records the sha256 of the weights it evaluated."""

import importlib
import json
import shlex
from pathlib import Path

import pytest

import sslcourse
from sslcourse import cli, methods, pretrained
from sslcourse.models import MODELS

ROOT = Path(sslcourse.__file__).parent
RECORDS = sorted((ROOT / "results").glob("*/*.json")) + sorted((ROOT / "weights").glob("*.json"))
PROTOCOL = sorted((ROOT / "results" / "protocol").glob("*.json"))


def _parse(command: str):
    """The argparse namespace the recorded command gives, by the parser of the module it runs."""
    argv = shlex.split(command)
    assert argv[:2] == ["python", "-m"], command
    module = argv[2]
    if module == "sslcourse":
        return cli.build_parser().parse_args(argv[3:])
    return importlib.import_module(module)._parser().parse_args(argv[3:])


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_recorded_command_still_parses(path):
    args = _parse(json.loads(path.read_text())["command"])
    checkpoint = getattr(args, "checkpoint", None)
    if checkpoint is None:
        return
    # `eval NAME`: a shipped entry; `eval random:NAME`: a shipped entry's network or a registered architecture.
    name = (checkpoint.partition(":")[2] or "resnet18") if checkpoint.startswith("random") else checkpoint
    assert name in pretrained.available() or name in MODELS, f"{path.name}: {checkpoint} no longer resolves"
    if getattr(args, "command", None) == "train":
        assert args.method in methods.registry(), path.name


@pytest.mark.parametrize("path", PROTOCOL, ids=lambda p: p.name)
def test_every_protocol_row_records_the_sha256_of_the_weights_it_evaluated(path):
    row = json.loads(path.read_text())
    sha, how = row["weights_sha256"], row["weights_hashed"]
    if sha == "not recorded":  # allowed only where the row says why
        assert how.startswith("not recorded:"), path.name
        return
    assert len(sha) == 64 and int(sha, 16) >= 0, path.name
    if not row["weights"].startswith("random"):  # a shipped entry: the file its card vouches for
        assert sha == pretrained.card(row["weights"])["sha256"], f"{path.name} evaluated other weights than shipped"
        assert how.startswith("the file"), path.name
    else:
        assert how.startswith("the untrained state"), path.name


def test_the_untrained_state_hash_is_what_eval_records(monkeypatch):
    """`eval random:NAME` hashes the network it builds; the same seed gives the same hash, another seed another."""
    from sslcourse import provenance

    a, _ = cli._untrained("resnet18", 0)
    b, _ = cli._untrained("resnet18", 0)
    c, _ = cli._untrained("resnet18", 1)
    assert provenance.state_sha256(a) == provenance.state_sha256(b) != provenance.state_sha256(c)
    shipped = json.loads((ROOT / "results" / "protocol" / "random_resnet18.json").read_text())
    assert provenance.state_sha256(a) == shipped["weights_sha256"]  # the shipped floor, rebuilt bit for bit
