"""The dashboard's charts: values as printed, bars drawn from them, labels wrapped whole."""

from __future__ import annotations

import pytest

from chalicelib.rendering.i18n import Translator
from chalicelib.web.charts import BAR_AREA, LABEL_CHARS, bar_chart, wait_shown

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("hours", "fr", "en"),
    [
        (0.0, "< 1 min", "< 1 min"),
        (50 / 3600, "< 1 min", "< 1 min"),
        (61 / 3600, "1 min", "1 min"),
        (0.5, "30 min", "30 min"),
        (1.25, "1,2 h", "1.2 h"),
        (26.0, "26,0 h", "26.0 h"),
    ],
)
def test_a_wait_is_printed_in_minutes_or_hours_never_0_min(hours: float, fr: str, en: str) -> None:
    assert wait_shown(hours, Translator("fr"))[1] == fr
    assert wait_shown(hours, Translator("en"))[1] == en


def test_bars_that_print_the_same_value_have_the_same_length() -> None:
    # Issue 13, item 11: 10 s and 40 s both read "0 min" with bars of different lengths.
    t = Translator("fr")
    rows = [("a", *wait_shown(h, t)) for h in (10 / 3600, 40 / 3600, 0.25, 0.2501)]
    chart = bar_chart(rows)
    widths = [bar.width for bar in chart.bars]
    assert [bar.value for bar in chart.bars] == ["< 1 min", "< 1 min", "15 min", "15 min"]
    assert widths[0] == widths[1] and widths[2] == widths[3] == BAR_AREA


def test_a_long_label_is_wrapped_whole_and_rows_never_overlap() -> None:
    long = "En attente de votre confirmation, puis de celle de votre gestionnaire désigné"
    chart = bar_chart([(long, 3.0, "3"), ("Approuvée", 1.0, "1")])
    first, second = chart.bars
    assert len(first.lines) > 1 and all(len(line) <= LABEL_CHARS for line in first.lines)
    assert " ".join(first.lines) == long
    assert second.y >= first.bar_y + chart.bar_height
    assert chart.height >= second.bar_y + chart.bar_height
    assert second.width == round(BAR_AREA / 3)


def test_a_withheld_figure_has_no_bar_and_does_not_scale_the_others() -> None:
    # A median over fewer than 5 requests is not shown (the open figures' rule).
    chart = bar_chart([("Parcours formé", None, "Moins de 5"), ("Autres", 2.0, "2,0 h")])
    withheld, shown = chart.bars
    assert withheld.withheld and withheld.width == 0 and withheld.value == "Moins de 5"
    assert not shown.withheld and shown.width == BAR_AREA
    assert chart.description == "Parcours formé: Moins de 5; Autres: 2,0 h"
