import json

import matplotlib
import pytest
from matplotlib.container import BarContainer

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


def test_each_notebook_reveals_its_own_row():
    shown = {m: {r["name"] for r in scoreboard.rows(include_yours=False, upto=m)} for m in scoreboard.ORDER[:-1]}
    # Notebook 00: only the two ends of the scale.
    assert {r["method"] for r in scoreboard.rows(False, upto="random")} == {"random", "supervised"}
    assert not any(r.get("floor_of") for r in scoreboard.rows(False, upto="random"))  # floors come with their method
    # Each later notebook keeps what came before and adds its method's rows (with its matched floor).
    order = list(shown)
    for before, after in zip(order, order[1:]):
        assert shown[before] < shown[after], (before, after)
    assert {r["name"] for r in scoreboard.rows(False, upto="mae")} == {r["name"] for r in scoreboard.rows(False)}
    with pytest.raises(ValueError, match="upto='byol'"):
        scoreboard.rows(False, upto="byol")


def test_the_bet_so_far_is_computed_from_the_rows(monkeypatch):
    base = dict(source="shipped", command="", architecture="a", weights="w", device="d", budget="b")
    n = {"n_test": 10000}
    board = [
        dict(base, name="random_a", method="random", computed_on="CPU", metrics={"linear_top1": 30.0, **n}),
        dict(base, name="sup", method="supervised", computed_on="GPU", metrics={"linear_top1": 90.0, **n}),
        dict(base, name="ctx", method="context", computed_on="CPU", metrics={"linear_top1": 89.6, **n}),
    ]
    monkeypatch.setattr(scoreboard, "rows", lambda include_yours=True, upto=None: board)
    text = scoreboard.bet_so_far("context")
    # 89.6 vs 90.0 on 10,000 images each: a difference of -0.4 with SE 0.43 is inside two standard errors.
    assert "ctx (a; a short CPU stand-in: d, b): 89.6 ± 0.3; +59.6 ± 0.6 over its untrained network" in text
    assert "-0.4 ± 0.4 against sup (within the noise of it)" in text
    assert "Verdict: cannot tell at this scale" in text and "indicative only" in text
    board[2]["metrics"]["linear_top1"] = 60.0
    assert "Verdict: not won at this scale" in scoreboard.bet_so_far("context")
    board[2].update(computed_on="GPU", metrics={"linear_top1": 95.0, **n})
    text = scoreboard.bet_so_far("context")
    assert "Verdict: won at this scale" in text and "short CPU stand-in" not in text
    board[2]["architecture"] = "other"  # no supervised row of its architecture: no verdict against supervised
    text = scoreboard.bet_so_far("context")
    assert "not its architecture" in text and "Verdict: cannot tell at this scale: no self-supervised row" in text


def _ranked_board(col_gain):
    n = {"n_test": 10000}
    row = lambda name, method, arch, acc, **kw: dict(
        name=name, method=method, architecture=arch, source="shipped", metrics={"linear_top1": acc, **n}, **kw
    )
    return [
        row("r_ctx", "random", "ctx-net", 30.0, floor_of="ctx_w"),
        row("r_col", "random", "col-net", 25.0, floor_of="col_w"),
        row("ctx", "context", "ctx-net", 40.0, weights="ctx_w"),  # +10 over its floor
        row("col", "colorization", "col-net", 25.0 + col_gain, weights="col_w"),
        row("sup", "supervised", "sup-net", 90.0),
    ]


def test_best_so_far_ranks_by_gain_over_the_matched_floor_and_only_when_told_apart():
    ranked, sentence = scoreboard.best_by_gain("linear_top1", _ranked_board(col_gain=14.0))
    assert [r["name"] for r, _ in ranked] == ["col", "ctx"]  # col's raw accuracy (39) is below ctx's (40)
    assert sentence.startswith("col gains most") and "+14.0" in sentence
    ranked, sentence = scoreboard.best_by_gain("linear_top1", _ranked_board(col_gain=10.5))
    assert sentence.startswith("cannot rank") and "ctx" in sentence  # 0.5 points apart: within the noise


def test_gap_closed_uses_a_ceiling_of_the_same_architecture_and_says_where_none_is():
    board = _ranked_board(col_gain=14.0) + [
        dict(name="sup_ctx", method="supervised", architecture="ctx-net", source="shipped",
             metrics={"linear_top1": 50.0, "n_test": 10000}),
    ]  # fmt: skip
    closed = scoreboard.gap_closed("linear_top1", board)
    assert closed["ctx"] == pytest.approx((40 - 30) / (50 - 30))  # its own architecture's ceiling
    assert closed["col"] == pytest.approx(14 / (90 - 25))  # none of its own: the best supervised row
    notes = scoreboard.ceilings("linear_top1", board)
    assert "same architecture" in notes["ctx"] and "not like for like" in notes["col"]


def test_every_shipped_row_names_its_device_and_budget():
    for r in scoreboard.shipped():
        assert r["device"] and r["budget"], r["name"]
        assert r["method"] == "random" or "epochs" in r["budget"], r
    assert "trained on" in scoreboard.table() and "budget" in scoreboard.table()


def test_the_gains_figure_draws_each_rows_gain_over_its_own_floor_with_two_standard_errors():
    floor_of_sup = dict(
        name="r_sup",
        method="random",
        architecture="sup-net",
        source="shipped",
        metrics={"linear_top1": 30.0, "n_test": 10000},
    )
    board = _ranked_board(col_gain=14.0) + [
        floor_of_sup,
        dict(name="lone", method="mae", architecture="vit", source="shipped", metrics={"linear_top1": 45.0,
             "n_test": 10000}),
    ]  # fmt: skip
    ax = scoreboard.plot_gains("linear_top1", board)
    versus = scoreboard.versus_floor("linear_top1", board)
    shown = [t.get_text() for t in ax.get_xticklabels()]
    assert shown == ["ctx", "col", "sup"]  # floors are not bars, and "lone" has no matched floor
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([10.0, 14.0, 60.0])  # gains, not raw accuracies (40, 39, 90)
    assert heights == pytest.approx([versus[name][1].value for name in shown])
    (bars,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    segments = bars.errorbar.lines[2][0].get_segments()  # the vertical line of each error bar
    half = [(s[1][1] - s[0][1]) / 2 for s in segments]
    assert half == pytest.approx([2 * versus[name][1].se for name in shown])  # ± 2 standard errors
    assert "1 row without a matched floor left out" in ax.get_title()
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["+10.0", "+14.0", "+60.0"]
