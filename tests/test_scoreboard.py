import json

import matplotlib
import pytest

from sslcourse import scoreboard

matplotlib.use("Agg")


@pytest.fixture
def my_board(tmp_path, monkeypatch):
    monkeypatch.setenv("SSLCOURSE_SCOREBOARD", str(tmp_path / "mine.json"))
    return tmp_path / "mine.json"


def test_shipped_rows_carry_their_provenance():
    rows = scoreboard.shipped()
    names = [r["name"] for r in rows]
    assert "supervised_resnet18" in names
    for r in rows:
        assert r["source"] == "shipped" and r["command"].startswith("python -m sslcourse")
        assert r["computed_on"] in ("GPU", "CPU")
        assert any(m in r["metrics"] for m in scoreboard.METRICS)
    assert rows[-1]["method"] == "supervised"  # the top of the scale comes last


def test_your_runs_never_overwrite_shipped_rows(my_board):
    before = json.dumps(scoreboard.shipped(), sort_keys=True)
    scoreboard.record("supervised_resnet18", {"linear_top1": 12.5, "knn_top1": 11.0}, method="supervised")
    scoreboard.record("my_simclr", {"linear_top1": 61.0}, method="simclr")
    scoreboard.record("my_simclr", {"linear_top1": 65.0}, method="simclr")  # updating my own row
    assert json.dumps(scoreboard.shipped(), sort_keys=True) == before
    mine = scoreboard.yours()
    assert [r["name"] for r in mine] == ["supervised_resnet18", "my_simclr"]
    assert mine[1]["metrics"]["linear_top1"] == 65.0
    all_rows = scoreboard.rows()
    sup = [r for r in all_rows if r["name"] == "supervised_resnet18"]
    assert {r["source"] for r in sup} == {"shipped", "yours"}
    assert scoreboard.rows(include_yours=False) == scoreboard.shipped()


def test_bad_metrics_are_refused_with_a_reason(my_board):
    with pytest.raises(ValueError, match="percent"):
        scoreboard.record("x", {"linear_top1": 930})
    with pytest.raises(ValueError, match="number"):
        scoreboard.record("x", {"linear_top1": "93"})
    with pytest.raises(ValueError, match="no protocol metric"):
        scoreboard.record("x", {"loss": 0.3})
    assert not my_board.exists()  # nothing half-written


def test_a_corrupt_personal_file_is_reported_not_overwritten(my_board):
    my_board.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        scoreboard.record("x", {"linear_top1": 50.0})
    assert my_board.read_text() == "{not json"


def test_table_and_plot_show_every_row(my_board):
    scoreboard.record("my_run", {"linear_top1": 42.0}, method="simclr")
    text = scoreboard.table()
    assert "my_run" in text and "42.0" in text and "linear probe" in text
    ax = scoreboard.plot("linear_top1")
    assert len(ax.patches) == len([r for r in scoreboard.rows() if "linear_top1" in r["metrics"]])
    assert any(p.get_hatch() == "//" for p in ax.patches)  # your rows are marked
