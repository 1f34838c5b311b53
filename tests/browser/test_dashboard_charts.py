"""The dashboard's charts in real Chromium: no label cut, bars as long as the values printed.

Issue 13, item 11: "tente de votre confirmation" showed for "En attente de votre
confirmation", and two bars of different lengths both read "0 min".
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import OFFICERS, WIDTHS, OpenPage, new_person, shoot
from tests.browser.test_approval_journey import submit_french_request
from tests.browser.test_console_journey import request_waiting_for_security, sign_in

pytestmark = pytest.mark.browser
# Every chart's texts and bars, with their boxes in page pixels, read from the drawn SVG.
MEASURE = """() => [...document.querySelectorAll("figure.chart svg")].map(svg => {
  const box = r => { const b = r.getBoundingClientRect();
                     return {left: b.left, right: b.right, top: b.top, bottom: b.bottom}; };
  return {
    chart: box(svg),
    labels: [...svg.querySelectorAll(".chart-label")].map(e => ({box: box(e), all: e.textContent,
             lines: [...e.querySelectorAll("tspan")].map(l => ({text: l.textContent,
                                                                 box: box(l)}))})),
    values: [...svg.querySelectorAll(".chart-value")].map(e => ({text: e.textContent,
             box: box(e)})),
    notes: [...svg.querySelectorAll(".chart-note")].map(e => ({text: e.textContent,
            box: box(e)})),
    bars: [...svg.querySelectorAll(".chart-bar")].map(e => e.getBBox().width),
    desc: svg.querySelector("desc").textContent,
  };
})"""


def _inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    # Half a pixel of slack for subpixel rounding of scaled text.
    return (
        inner["left"] >= outer["left"] - 0.5
        and inner["right"] <= outer["right"] + 0.5
        and inner["top"] >= outer["top"] - 0.5
        and inner["bottom"] <= outer["bottom"] + 0.5
    )


def _check_charts(page: Page, where: str) -> list[dict[str, Any]]:
    charts: list[dict[str, Any]] = page.evaluate(MEASURE)
    assert len(charts) == 4, where
    for chart in charts:
        for label in chart["labels"]:
            label["text"] = " ".join(line["text"] for line in label["lines"]) or label["all"]
            # The whole label is drawn (wrapped, never cut): its words are those of the data.
            assert f"{label['text']}: " in chart["desc"], (where, label["text"], chart["desc"])
        for note in chart["notes"]:
            # A withheld figure (fewer than 5 requests) says so in words, in the description too.
            assert f": {note['text']}" in chart["desc"], (where, note["text"], chart["desc"])
        for text in chart["labels"] + chart["values"] + chart["notes"]:
            boxes = [text["box"], *(line["box"] for line in text.get("lines", []))]
            assert all(_inside(b, chart["chart"]) for b in boxes), (
                f"{where}: {text['text']!r} at {text['box']} leaves the chart {chart['chart']}"
            )
        # Bars as long as the values printed: equal texts, equal bars; a longer bar never
        # prints a smaller number.
        widths_by_value: dict[str, set[float]] = {}
        for value, width in zip(chart["values"], chart["bars"], strict=True):
            widths_by_value.setdefault(value["text"], set()).add(round(width, 1))
        assert all(len(w) == 1 for w in widths_by_value.values()), (where, widths_by_value)
    return charts


def test_every_label_lies_inside_its_chart_and_bars_follow_the_values(
    page: Page, open_page: OpenPage, base_url: str
) -> None:
    # Given a request waiting for its requester's confirmation, and one the manager approved
    # within seconds (a median wait under a minute)
    submit_french_request(page, base_url, new_person("Évangéline", "Bouchard-Larochelle"))
    request_waiting_for_security(open_page(), open_page, base_url)
    officer = open_page()
    sign_in(officer, base_url, OFFICERS[0])

    for lang, waiting, under_a_minute, trained, withheld in (
        ("fr", "En attente de votre confirmation", "< 1 min",
         "Parcours formé (module de sensibilisation réussi)",
         "Moins de 5 accès accordés : non affiché"),
        ("en", "Waiting for your confirmation", "< 1 min",
         "Trained path (awareness module passed)", "Fewer than 5 grants: not shown"),
    ):  # fmt: skip
        officer.goto(f"/console/dashboard?lang={lang}")
        expect(officer.locator("svg")).to_have_count(4)
        for width in WIDTHS:
            officer.set_viewport_size({"width": width, "height": 900})
            charts = _check_charts(officer, f"{lang} at {width} px")
            statuses = [label["text"] for label in charts[0]["labels"]]
            assert waiting in statuses, statuses
            waits = [value["text"] for value in charts[2]["values"]]
            assert under_a_minute in waits and not any(w.startswith("0 ") for w in waits), waits
            # Time to access, trained path and others: no grant yet, so both medians are
            # withheld (fewer than 5 requests), with no bar drawn for either.
            access = charts[3]
            assert trained in [label["text"] for label in access["labels"]]
            assert [n["text"] for n in access["notes"]] == [withheld, withheld]
            assert access["bars"] == [] and access["values"] == []
        shoot(officer, f"console-dashboard-charts-{lang}")
