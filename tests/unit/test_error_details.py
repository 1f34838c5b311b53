"""The one-detail errors and the listing filters keep their shape for the code built on them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.errors import LimitReached, NoApprover
from chalicelib.store.audit import AuditFilter
from chalicelib.store.console import RequestFilter

pytestmark = pytest.mark.unit


def test_an_error_says_its_detail_under_the_attribute_its_class_names() -> None:
    error = NoApprover("security")
    assert error.role == "security"
    assert str(error) == "security"


def test_a_subclass_of_a_one_detail_error_keeps_its_parents_attribute() -> None:
    class HourlyLimit(LimitReached):
        """A narrower limit, as a later rule might add."""

    error = HourlyLimit("hourly")
    assert error.limit == "hourly"
    assert isinstance(error, LimitReached)


def test_filters_are_given_by_name_so_no_field_lands_in_the_period() -> None:
    since = datetime(2026, 12, 1, tzinfo=UTC)
    assert RequestFilter(requester="a@mcn.gouv.qc.ca", since=since).since == since
    with pytest.raises(TypeError):
        RequestFilter(since, None, "approved")  # type: ignore[misc]
    with pytest.raises(TypeError):
        AuditFilter(None, None, "someone")  # type: ignore[misc]
