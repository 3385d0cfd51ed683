"""The markers of what a test needs (db, dachs, browser, root, esorex) follow from the
fixtures it uses, so that ``-m "not dachs and not browser"`` (part of ./run quick)
leaves out exactly the tests that start DaCHS or a browser."""

from __future__ import annotations

import pytest
from support import FIXTURE_MARKS, IMPLIED_MARKS


def test_every_test_using_a_service_fixture_carries_its_marker(
        request: pytest.FixtureRequest) -> None:
    items = request.session.items
    assert request.node in items
    missing = [f"{item.nodeid} uses {fixture} but is not marked {mark}"
               for item in items for fixture, mark in FIXTURE_MARKS.items()
               if fixture in getattr(item, "fixturenames", ())
               and not item.get_closest_marker(mark)]
    missing += [f"{item.nodeid} is marked {mark} but not {implied}"
                for item in items for mark, implied in IMPLIED_MARKS.items()
                if item.get_closest_marker(mark) and not item.get_closest_marker(implied)]
    assert not missing, "\n".join(missing)


def test_markers_are_declared(pytestconfig: pytest.Config) -> None:
    declared = {line.split(":")[0] for line in pytestconfig.getini("markers")}
    assert set(FIXTURE_MARKS.values()) | {"slow"} <= declared
