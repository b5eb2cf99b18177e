"""Each fault's figures ride on its test report, so the summary has them also from xdist workers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.checks import FIGURES

FIGURES_PROPERTY = "fault suite figures"


@pytest.fixture(autouse=True)
def _report_figures(request: pytest.FixtureRequest) -> Iterator[None]:
    before = len(FIGURES)
    yield
    for row in FIGURES[before:]:
        request.node.user_properties.append((FIGURES_PROPERTY, row))
