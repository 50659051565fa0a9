"""Chart titles fit a phone-size screen: a long title is split into what is counted and over which period."""

from __future__ import annotations

import pandas as pd

from lib import charts


def test_a_short_title_stays_on_one_line():
    assert charts._title_parts("Leads by current status · March") == ("Leads by current status · March", "")


def test_a_long_title_splits_at_the_first_separator():
    # 58 characters, over the 40-character line: the period goes to the subtitle
    assert charts._title_parts("Leads created per day, 25 Oct – 23 Nov 2026 (Asia/Jerusalem)") == (
        "Leads created per day",
        "25 Oct – 23 Nov 2026 (Asia/Jerusalem)",
    )
    assert charts._title_parts("Leads by UTM source (top 10) · 25 Oct – 23 Nov 2026") == (
        "Leads by UTM source (top 10)",
        "25 Oct – 23 Nov 2026",
    )


def test_a_long_title_without_a_separator_is_left_whole():
    title = "A very long title with no separator that cannot be split anywhere"
    assert charts._title_parts(title) == (title, "")


def test_the_figure_carries_title_and_subtitle_and_room_for_both():
    df = pd.DataFrame({"stage": ["New", "Won"], "leads": [10, 2], "pct_of_first": [1.0, 0.2],
                       "pct_of_previous": [1.0, 0.2]})  # fmt: skip
    fig = charts.funnel_chart(df, title="Funnel: leads that reached each stage, 1 Mar – 31 Mar 2026")
    assert fig.layout.title.text == "Funnel: leads that reached each stage"
    assert fig.layout.title.subtitle.text == "1 Mar – 31 Mar 2026"
    assert fig.layout.margin.t == 80
