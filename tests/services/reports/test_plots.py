"""The charts: valid PNG files of the size asked for, SVG documents, drawn for empty reports too, and
drawn without pyplot (no global figure is left behind)."""

from __future__ import annotations

import datetime as dt
import struct
import sys

import pytest
from lxml import etree
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.services.reports import plots
from gateway.services.reports.aging import aging_report
from gateway.services.reports.deliveries import delivery_report
from gateway.services.reports.dso import dso_report
from gateway.services.reports.periods import Month
from tests.services.reports.scenarios import aging_history, delivery_history, dso_history

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, after checking the signature and the chunk's name."""
    assert data[:8] == PNG_SIGNATURE
    length, name = struct.unpack(">I4s", data[8:16])
    assert (length, name) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    assert data[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82"
    return width, height


def _reports(engine: Engine) -> dict[str, object]:
    aging_history(engine)
    dso_history(engine)
    delivery_history(engine)
    with session_scope(engine) as session:
        return {
            "aging": aging_report(session, "acme", dt.date(2026, 11, 30)),
            "dso": dso_report(session, "acme", Month(2026, 11), 6, dt.date(2026, 12, 15)),
            "deliveries": delivery_report(session, "acme", Month(2026, 11)),
        }


def test_each_chart_is_a_png_of_the_size_asked_for_and_an_svg(engine: Engine) -> None:
    for name, report in _reports(engine).items():
        draw = plots.CHARTS[name]
        assert png_size(draw(report)) == (plots.WIDTH, plots.HEIGHT), name
        assert png_size(draw(report, width=1366, height=700)) == (1366, 700), name
        svg = etree.fromstring(draw(report, "svg"))
        assert svg.tag == "{http://www.w3.org/2000/svg}svg", name
        assert svg.get("width") == "921.6pt" and svg.get("height") == "460.8pt", (
            name
        )  # 1280 × 640 px at 100 dpi
    assert "matplotlib.pyplot" not in sys.modules


def test_the_charts_say_what_they_show(engine: Engine) -> None:
    reports = _reports(engine)
    aging = plots.aging_chart(reports["aging"], "svg").decode()  # type: ignore[arg-type]
    assert "Receivables aging as of 2026-11-30" in aging and "Alfa AS" in aging and "Delta GmbH" in aging
    assert "NOK: 8\u202f130.00 open" in aging and "Over 90 days" in aging  # 3 330 + the DSO history's 4 800
    dso = plots.dso_chart(reports["dso"], "svg").decode()  # type: ignore[arg-type]
    assert "Days sales outstanding, 2026-06 to 2026-11" in dso and "Count-back DSO (NOK)" in dso
    deliveries = plots.deliveries_chart(reports["deliveries"], "svg").decode()  # type: ignore[arg-type]
    assert "Deliveries per channel, 2026-11" in deliveries and "75.0 %" in deliveries


def test_empty_reports_draw_a_message(engine: Engine) -> None:
    with session_scope(engine) as session:
        aging = aging_report(session, "nobody", dt.date(2026, 11, 30))
        dso = dso_report(session, "nobody", Month(2026, 11), 3, dt.date(2026, 12, 1))
        deliveries = delivery_report(session, "nobody", Month(2026, 11))
    assert "Nothing was open on 2026-11-30." in plots.aging_chart(aging, "svg").decode()
    assert "No sales and no receivables" in plots.dso_chart(dso, "svg").decode()
    assert "No deliveries were created in 2026-11." in plots.deliveries_chart(deliveries, "svg").decode()
    assert png_size(plots.aging_chart(aging)) == (plots.WIDTH, plots.HEIGHT)


@pytest.mark.parametrize(("width", "height"), [(100, 640), (1280, 5000)])
def test_a_size_out_of_bounds_is_refused(engine: Engine, width: int, height: int) -> None:
    with session_scope(engine) as session:
        aging = aging_report(session, "nobody", dt.date(2026, 11, 30))
    with pytest.raises(ValueError, match="pixels"):
        plots.aging_chart(aging, width=width, height=height)
