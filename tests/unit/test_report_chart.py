"""The monthly report's chart: an empty panel says 无数据 (no axis around zero), every bar
carries its value, and bindings opened and ended are charted too."""

from __future__ import annotations

from matplotlib import pyplot as plt

from gongji.services.operations.report import Line, MonthlyReport, chart_figure


def _labels(axes) -> list[str]:
    """What is written on the panel: free text and the bars' value labels."""
    return [t.get_text() for t in axes.texts]


def _report(**parts) -> MonthlyReport:
    report = MonthlyReport("542500", "阿里地区", "2026-06",
                           bindings={"opened": 0, "unbound": 0, "ended": 0})
    report.scenes = [Line("共济使用", label, 0, 0) for label in ("门诊", "购药", "代缴")]
    for name, value in parts.items():
        setattr(report, name, value)
    return report


def test_an_empty_month_says_no_data_on_every_panel():
    figure = chart_figure(_report())
    try:
        panels = figure.axes
        assert len(panels) == 3
        for axes in panels:
            assert _labels(axes) == ["无数据"]
            assert not axes.axison  # no axis drawn around zero
    finally:
        plt.close(figure)


def test_bars_carry_their_values_and_bindings_are_charted():
    report = _report(
        bindings={"opened": 3, "unbound": 1, "ended": 0},
        scenes=[Line("共济使用", "门诊", 2, 12345), Line("共济使用", "购药", 1, 500),
                Line("共济使用", "代缴", 0, 0)],
        top_institutions=[Line("机构排名", "H1 医院", 2, 12345),
                          Line("机构排名", "P1 药房", 1, 500)])
    figure = chart_figure(report)
    try:
        opened, scenes, top = figure.axes
        assert _labels(opened) == ["3 件", "1 件", "0 件"]
        assert _labels(scenes) == ["123.45\n2 次", "5.00\n1 次", "0.00\n0 次"]
        assert _labels(top) == ["5.00（1 次）", "123.45（2 次）"]
        assert all(axes.axison for axes in (opened, scenes, top))
        assert scenes.get_ylim()[0] == 0
    finally:
        plt.close(figure)
