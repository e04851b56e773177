"""The laptop-scale training curve (sslcourse/experiments/simclr_curve.py), at tiny settings: every pipeline,
seed and budget gets its probe, the differences carry the seeds' spread, and the command records it all."""

import json

from sslcourse.experiments import simclr_curve


def test_the_curve_command_probes_every_budget_of_every_seed(tmp_path):
    out = tmp_path / "curve.json"
    argv = ["curve", "--device", "cpu", "--out", str(out), "--steps", "10,20", "--seeds", "0,1"]
    argv += ["--n-train", "640", "--n-test", "200"]
    assert simclr_curve.main(argv) == 0
    record = json.loads(out.read_text())
    r = record["results"]
    assert record["seeds"] == [0, 1] and record["settings"]["scale"]["n_test"] == 200
    for name in simclr_curve.PIPELINES:
        runs = r["pipelines"][name]["runs"]
        assert set(runs) == {"0", "1"}
        assert all([x["steps"] for x in rs] == [10, 20] for rs in runs.values())
        assert all(len(b["linear_top1_seeds"]) == 2 for b in r["pipelines"][name]["by_steps"])
    assert [d["steps"] for d in r["difference"]] == [10, 20] and all(d["se"] is not None for d in r["difference"])
