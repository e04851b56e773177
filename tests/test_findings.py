"""Findings: each claim is judged from the shipped results, and judged the right way round."""
import json

import pytest

from sslcourse import findings, scoreboard


def test_every_finding_reads_the_shipped_results():
    rows = findings.evaluate_all()
    assert len(rows) >= 7
    for f in rows:
        assert f.verdict in ("reproduced", "not reproduced", "too close to call", "not measured") or \
            f.verdict.startswith("partly"), f
        assert f.paper and f.ours
        if f.verdict == "not measured":
            assert "no shipped result" in f.ours
    table, md = findings.table(), findings.markdown()
    assert all(f.topic in table for f in rows)
    assert md.count("\n") == len(rows) + 1  # header, rule, one line per finding


@pytest.mark.parametrize("difference, expected", [(5.0, "reproduced"), (-5.0, "not reproduced"),
                                                  (0.5, "too close to call"), (-0.9, "too close to call")])
def test_judge(difference, expected):
    assert findings._judge(difference) == expected


def test_a_finding_follows_the_numbers(tmp_path, monkeypatch):
    """The same claim flips when the shipped numbers flip: nothing is typed in."""
    head = {"runs": [{"head": "mlp", "h": {"linear_top1": 60.0}, "z": {"linear_top1": 40.0}}], "computed_on": "GPU"}
    (tmp_path / "simclr").mkdir()
    (tmp_path / "simclr" / "head.json").write_text(json.dumps(head))
    monkeypatch.setattr(findings, "RESULTS", tmp_path)
    assert findings.simclr_head().verdict == "reproduced" and findings.simclr_head().scale == "GPU"
    head["runs"][0]["z"]["linear_top1"] = 70.0
    (tmp_path / "simclr" / "head.json").write_text(json.dumps(head))
    assert findings.simclr_head().verdict == "not reproduced"
    assert findings.mae_ratio().verdict == "not measured"  # no sweep in this folder


def test_gap_closed():
    rows = [{"name": "r", "method": "random", "metrics": {"linear_top1": 30.0}, "source": "shipped"},
            {"name": "s", "method": "supervised", "metrics": {"linear_top1": 90.0}, "source": "shipped"},
            {"name": "x", "method": "simclr", "metrics": {"linear_top1": 75.0}, "source": "shipped"}]
    assert scoreboard.gap_closed("linear_top1", rows) == {"x": pytest.approx(0.75)}
    with pytest.raises(ValueError, match="no random row"):
        scoreboard.gap_closed("linear_top1", rows[1:])


def test_label_curves():
    rows = [{"name": "a", "method": "simclr", "source": "shipped",
             "metrics": {"few_label_top1@10": 50.0, "few_label_top1@1": 20.0, "linear_top1": 70.0}},
            {"name": "b", "method": "mae", "source": "shipped", "metrics": {"linear_top1": 40.0}}]
    assert scoreboard.label_curves(rows) == {"a": {1: 20.0, 10: 50.0}}
