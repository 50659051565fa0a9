"""Tables show a rate as the charts do: rounded to one decimal of a percent, not truncated by Streamlit."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _page():
    import pandas as pd

    from lib import ui

    # 62 of 918 leads = 0.0675381… : 6.8 % rounded (Streamlit alone would truncate to 6.7 %);
    # 29 of 1000 = 0.029 exactly (a float just below 0.029: must not become 2.8 %)
    frame = pd.DataFrame({"status": ["חדש", "בטיפול"], "leads": [62, 29], "share": [62 / 918, 29 / 1000]})
    ui.table(frame, "shares", column_config=ui.RATE_COLUMNS)
    ui.table(frame.rename(columns={"share": "other"}), "not-a-rate")


def test_rate_columns_are_rounded_for_the_screen():
    at = AppTest.from_function(_page).run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert list(shown["share"]) == [0.068, 0.029]
    # a column that is not a configured rate is left as it is
    assert list(at.dataframe[1].value["other"]) == [62 / 918, 29 / 1000]
