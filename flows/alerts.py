"""Alerts: the Prefect automations kept in flows/automations/*.yaml, applied to a Prefect server.

    python -m flows.alerts apply    # against PREFECT_API_URL; `make serve` runs it

Each file is an automation as Prefect's API takes it (name, description, trigger) plus
`notify` (the subject and body templates of its message). Applying is idempotent: an
automation is found by its name and updated if its file changed (paused ones stay paused),
missing ones are created, and automations tagged `customs-etl` whose file was deleted are
deleted. An unchanged one is left alone: an update gives its trigger a new id on the server,
which drops the trigger's open windows (the "nothing published" alert would wait for the next
publish again).

Where messages go comes from the settings: CUSTOMS_ALERT_BLOCK names an existing notification
block ("slack-webhook/ops", "microsoft-teams-webhook/ops", "email/ops"...); else
CUSTOMS_ALERT_WEBHOOK_URL creates or updates the generic webhook block "customs-alerts" (a
JSON POST of subject, body and text); with neither, the automations have no action: they still
fire, and their firings are in the event feed, but nothing is sent.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import yaml
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.events.actions import SendNotification
from prefect.events.schemas.automations import AutomationCore
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL
from pydantic import ValidationError

from customs_etl.settings import get_settings

AUTOMATIONS_DIR = Path(__file__).resolve().parent / "automations"
TAG = "customs-etl"
WEBHOOK_BLOCK = "customs-alerts"
# What applying compares to tell an unchanged automation (`enabled` is the operator's).
COMPARED = {
    "name",
    "description",
    "tags",
    "trigger",
    "actions",
    "actions_on_trigger",
    "actions_on_resolve",
}
# What the generic webhook POSTs: Slack-style `text`, and the parts for other receivers.
WEBHOOK_JSON = {"text": "{{subject}}\n{{body}}", "subject": "{{subject}}", "body": "{{body}}"}


class AlertsError(Exception):
    """Something an operator must fix; the message says what and what was expected."""


@dataclass(frozen=True)
class Destination:
    block_id: UUID
    label: str  # "TYPE/NAME (where)", for the operator


def load_automations(
    directory: Path = AUTOMATIONS_DIR, block_id: UUID | None = None
) -> list[AutomationCore]:
    """The automations of the files, each notifying the block (if any)."""
    automations = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            spec = yaml.safe_load(path.read_text(encoding="utf-8"))
            automations.append(_automation(spec, block_id))
        except (yaml.YAMLError, ValidationError, KeyError, TypeError) as error:
            detail = str(error).splitlines()[0]
            raise AlertsError(
                f"{path}: not an automation ({detail}); expected name, description, trigger "
                "and notify: {subject, body}, as the other files there"
            ) from error
    names = [a.name for a in automations]
    if len(set(names)) != len(names):
        raise AlertsError(f"{directory}: two automations share a name; names must be unique")
    return automations


def _automation(spec: dict[str, Any], block_id: UUID | None) -> AutomationCore:
    notify = spec["notify"]
    actions = (
        [
            SendNotification(
                block_document_id=block_id, subject=notify["subject"], body=notify["body"]
            )
        ]
        if block_id
        else []
    )
    return AutomationCore(
        name=spec["name"],
        description=spec.get("description", ""),
        enabled=True,
        tags=[TAG],
        trigger=spec["trigger"],
        actions=actions,
    )


def destination(client: SyncPrefectClient) -> Destination | None:
    """The notification block the settings name, created or updated for a webhook URL."""
    settings = get_settings()
    if settings.alert_block:
        return _existing_block(client, settings.alert_block)
    if settings.alert_webhook_url:
        return _webhook_block(settings.alert_webhook_url)
    return None


def _existing_block(client: SyncPrefectClient, slug: str) -> Destination:
    block_type, _, name = slug.partition("/")
    if not block_type or not name:
        raise AlertsError(
            f"CUSTOMS_ALERT_BLOCK={slug!r}: expected a block as TYPE/NAME, e.g. slack-webhook/ops"
        )
    try:
        document = client.read_block_document_by_name(name, block_type, include_secrets=False)
    except ObjectNotFound:
        raise AlertsError(
            f"CUSTOMS_ALERT_BLOCK={slug!r}: no such block on {client.api_url}; create it first "
            "(README, Operating it) or list them with `prefect block ls`"
        ) from None
    capabilities = document.block_schema.capabilities if document.block_schema else []
    if "notify" not in capabilities:
        raise AlertsError(
            f"CUSTOMS_ALERT_BLOCK={slug!r} is not a notification block; expected one that can "
            "notify (slack-webhook, microsoft-teams-webhook, email, custom-webhook...)"
        )
    return Destination(document.id, slug)


def _webhook_block(url: str) -> Destination:
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    if httpx.URL(url).scheme not in ("http", "https") or not httpx.URL(url).host:
        raise AlertsError(
            f"CUSTOMS_ALERT_WEBHOOK_URL={url!r}: expected an http(s) URL that accepts a POST"
        )
    block = CustomWebhookNotificationBlock(name=WEBHOOK_BLOCK, url=url, json_data=WEBHOOK_JSON)
    block_id = block.save(WEBHOOK_BLOCK, overwrite=True)
    return Destination(block_id, f"custom-webhook/{WEBHOOK_BLOCK} ({url})")


@dataclass
class Applied:
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    deleted: list[str]
    paused: list[str]


def apply(
    client: SyncPrefectClient, block_id: UUID | None, directory: Path = AUTOMATIONS_DIR
) -> Applied:
    """Make the server's customs automations those of the files (see the module's doc)."""
    wanted = load_automations(directory, block_id)
    applied = Applied([], [], [], [], [])
    for automation in wanted:
        existing = client.read_automations_by_name(automation.name)
        if not existing:
            client.create_automation(automation)
            applied.created.append(automation.name)
            continue
        first, *extra = existing
        if _same(first, automation):
            applied.unchanged.append(automation.name)
        else:
            # Pausing is how an operator silences an alert: applying again keeps it paused.
            kept = automation.model_copy(update={"enabled": first.enabled})
            client.update_automation(first.id, kept)
            applied.updated.append(automation.name)
        if not first.enabled:
            applied.paused.append(automation.name)
        for duplicate in extra:
            client.delete_automation(duplicate.id)
    names = {a.name for a in wanted}
    for stale in client.read_automations():
        if TAG in stale.tags and stale.name not in names:
            client.delete_automation(stale.id)
            applied.deleted.append(stale.name)
    return applied


def _same(existing: AutomationCore, wanted: AutomationCore) -> bool:
    # Python values, not JSON: `expect` and `after` are sets, whose order as a JSON list
    # changes from one process to the next.
    return existing.model_dump(include=COMPARED) == wanted.model_dump(include=COMPARED)


def apply_command() -> str:
    if not PREFECT_API_URL.value():
        # Without it Prefect would start a throwaway server and apply to that.
        raise AlertsError(
            "PREFECT_API_URL is not set; expected the API of the server to apply to, "
            "e.g. http://127.0.0.1:4200/api (make serve sets it up)"
        )
    with get_client(sync_client=True) as client:
        if (error := client.api_healthcheck()) is not None:
            raise AlertsError(
                f"cannot reach the Prefect API at {client.api_url} ({error}); start a server "
                "(make serve) or check PREFECT_API_URL"
            )
        target = destination(client)
        applied = apply(client, target.block_id if target else None)
    lines = [
        f"Automations on {client.api_url}: {len(applied.created)} created, "
        f"{len(applied.updated)} updated, {len(applied.unchanged)} unchanged, "
        f"{len(applied.deleted)} deleted "
        f"(from {AUTOMATIONS_DIR})."
    ]
    if applied.paused:
        lines.append(f"Still paused: {', '.join(applied.paused)}.")
    lines.append(
        f"Alerts go to {target.label}."
        if target
        else "No alert destination (CUSTOMS_ALERT_WEBHOOK_URL and CUSTOMS_ALERT_BLOCK unset): "
        "the automations fire and are recorded, nothing is sent."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.alerts", description=__doc__)
    parser.add_argument("command", choices=["apply"], help="apply flows/automations/*.yaml")
    parser.parse_args(argv)
    try:
        print(apply_command())
    except AlertsError as error:
        print(f"flows.alerts: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
