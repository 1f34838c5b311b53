"""The dashboard's median time to access, trained path and others, from the stored requests;
a median over fewer than 5 grants is not shown (issue 17: "the dashboard shows the same
figures as charts, including the median time to access for trained and untrained")."""

from __future__ import annotations

import statistics
from datetime import timedelta

import pytest
from chalice.test import Client

from chalicelib.domain.models import RequestStatus
from chalicelib.service.console import dashboard_figures
from chalicelib.service.context import Services
from tests.integration.conftest import html
from tests.integration.people import OFFICER, get, sign_in
from tests.integration.test_open_data import NOVEMBER, Clock, build, services  # noqa: F401

pytestmark = pytest.mark.integration


def hours_to_access(found: Services, ids: list[str]) -> list[float]:
    stored = [found.store.load_request(i) for i in ids]
    granted = [r for r in stored if r is not None and r.status == RequestStatus.APPROVED]
    return [
        (max(s.decided_at for s in r.steps if s.decided_at) - r.created_at).total_seconds() / 3600
        for r in granted
    ]


def test_the_medians_to_access_come_from_the_stored_grants_and_small_groups_are_withheld(
    client: Client,
    services: tuple[Services, Clock],  # noqa: F811  (the fixture imported above)
) -> None:
    found, clock = services
    trained = [build(found, n, NOVEMBER + timedelta(hours=n), "granted", ["linkedin"], True).id
               for n in range(1, 6)]  # fmt: skip
    others = [build(found, n, NOVEMBER + timedelta(hours=n), "granted", ["x"]).id
              for n in range(6, 10)]  # fmt: skip
    build(found, 10, NOVEMBER, "refused", ["x"])  # refused: never counted as an access
    clock.now = NOVEMBER + timedelta(days=10)
    assert all(found.store.load_request(i).trained_path for i in trained)  # type: ignore[union-attr]

    medians = dashboard_figures(found).median_access_hours()
    assert medians["trained"] == pytest.approx(statistics.median(hours_to_access(found, trained)))
    assert medians["untrained"] is None  # four grants only

    page = html(get(client, "/console/dashboard", sign_in(client, OFFICER)))
    assert page.count("<svg") == 4
    hours = f"{round(medians['trained'], 1):.1f}".replace(".", ",")
    assert f"Parcours formé (module de sensibilisation réussi): {hours} h" in page
    assert "Autres demandes: Moins de 5 accès accordés : non affiché" in page

    # A fifth grant off the trained path: its median is shown too.
    others.append(build(found, 11, NOVEMBER, "granted", ["x"]).id)
    medians = dashboard_figures(found).median_access_hours()
    assert medians["untrained"] == pytest.approx(statistics.median(hours_to_access(found, others)))
