"""The alert definitions and GACC's calendar, without a server: every automation file
loads into what Prefect's API takes, and the deadline arithmetic in Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from uuid import uuid4

import pytest
from prefect.events.actions import SendNotification

from customs_etl.extract import gacc_calendar
from flows.alerts import AUTOMATIONS_DIR, AlertsError, load_automations

SHANGHAI = gacc_calendar.SHANGHAI
NOTHING_PUBLISHED = "customs: nothing published"


def test_every_automation_file_loads_with_its_message() -> None:
    block = uuid4()
    automations = load_automations(block_id=block)
    assert {a.name for a in automations} == {
        "customs: build-warehouse run failed",
        "customs: build-warehouse run too long",
        "customs: month overdue",
        "customs: nothing published",
        "customs: release quarantined",
        "customs: source down",
    }
    for automation in automations:
        assert automation.tags == ["customs-etl"]
        [action] = automation.actions
        assert isinstance(action, SendNotification)
        assert action.block_document_id == block
        assert "{{" in action.subject and "{{" in action.body
    quarantined = next(a for a in automations if a.name == "customs: release quarantined")
    [action] = quarantined.actions
    assert "event.payload.file" in action.subject and "event.payload.check" in action.subject


def test_without_a_destination_the_automations_have_no_action() -> None:
    assert all(a.actions == [] for a in load_automations())


def test_the_triggers_say_what_they_watch() -> None:
    triggers = {a.name: a.trigger for a in load_automations()}
    failed = triggers["customs: build-warehouse run failed"]
    assert failed.expect == {"prefect.flow-run.Failed", "prefect.flow-run.Crashed"}
    assert failed.match_related.model_dump() == {
        "prefect.resource.role": "flow",
        "prefect.resource.name": "build-warehouse",
    }
    assert triggers["customs: release quarantined"].expect == {"customs.release.quarantined"}
    assert triggers["customs: source down"].expect == {"customs.source.down"}
    assert triggers["customs: month overdue"].expect == {"customs.month.overdue"}
    too_long = triggers["customs: build-warehouse run too long"]
    assert too_long.posture == "Proactive"
    assert too_long.after == {"prefect.flow-run.Running"}
    assert too_long.within == dt.timedelta(hours=1)
    quiet = triggers["customs: nothing published"]
    assert quiet.posture == "Proactive"
    assert quiet.after == quiet.expect == {"customs.run.published"}  # each publish restarts it
    assert quiet.for_each == {"prefect.resource.id"}  # one window per warehouse
    assert quiet.match.model_dump() == {"prefect.resource.id": "customs.warehouse.*"}
    assert quiet.within == dt.timedelta(days=40)


def test_a_broken_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: x\ntrigger: {type: event}\n", encoding="utf-8")
    with pytest.raises(AlertsError, match=r"a\.yaml: not an automation \('notify'\)"):
        load_automations(tmp_path)


def test_two_files_with_one_name_are_refused(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text((AUTOMATIONS_DIR / "source_down.yaml").read_text())
    with pytest.raises(AlertsError, match="two automations share a name"):
        load_automations(tmp_path)


@pytest.mark.parametrize(
    ("at", "month"),
    [
        ("2026-01-26T00:05", "2025-12"),  # the deadline check: December is due by Jan 25
        ("2026-01-25T23:59", "2025-11"),  # the 25th is still in time for December
        ("2026-03-01T00:00", "2026-01"),
        ("2026-12-04T12:00", "2026-10"),
    ],
)
def test_the_last_month_past_its_deadline(at: str, month: str) -> None:
    assert (
        gacc_calendar.last_due_month(dt.datetime.fromisoformat(at).replace(tzinfo=SHANGHAI))
        == month
    )


def test_the_deadline_is_counted_in_shanghai() -> None:
    # 16:05 UTC on the 25th is 00:05 on the 26th in Shanghai: past December's deadline.
    assert gacc_calendar.last_due_month(dt.datetime(2026, 1, 25, 16, 5, tzinfo=dt.UTC)) == "2025-12"
    assert gacc_calendar.deadline("2025-12") == dt.date(2026, 1, 25)
    assert gacc_calendar.deadline("2026-01") == dt.date(2026, 2, 25)


def test_the_nothing_published_message_counts_the_window_in_days() -> None:
    """Rendered by Prefect's server template code, as its notification action renders it
    (the e2e test has it with a flow run and a 10 s window)."""
    from prefect.server.events.schemas.automations import Automation
    from prefect.server.events.schemas.events import ReceivedEvent
    from prefect.server.utilities.user_templates import render_user_template_sync

    [core] = [a for a in load_automations(block_id=uuid4()) if a.name == NOTHING_PUBLISHED]
    automation = Automation.model_validate({**core.model_dump(mode="json"), "id": str(uuid4())})
    event = ReceivedEvent(
        occurred=dt.datetime(2026, 1, 20, 2, 30, tzinfo=dt.UTC),
        event="customs.run.published",
        resource={"prefect.resource.id": "customs.warehouse./srv/customs.duckdb"},
        payload={"warehouse": "/srv/customs.duckdb", "months": ["2025-12"]},
        id=uuid4(),
    )
    [action] = core.actions
    context = {"automation": automation, "event": event, "flow_run": None, "deployment": None}
    assert render_user_template_sync(action.subject, context) == (
        "customs: no month published for 40 days on /srv/customs.duckdb since 2026-01-20 02:30 UTC"
    )
    assert render_user_template_sync(action.body, context) == (
        "No run has published to /srv/customs.duckdb for 40 days (GACC publishes monthly); the "
        "last was an event outside a flow run at 2026-01-20 02:30:00 UTC, which added 2025-12. "
        "Check the monthly runs (is the worker up?), the landing folder and GACC's release "
        "calendar, then run build-warehouse/monthly."
    )
