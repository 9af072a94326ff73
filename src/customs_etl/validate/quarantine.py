"""Quarantine: a release that fails is never loaded; its file stays where it is and a report
says, for machines (JSON) and for people (Markdown), which check failed, where and how often."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from customs_etl import markdown as md
from customs_etl.errors import ReleaseError


@dataclass(frozen=True)
class Finding:
    """One reason a release was refused: a parse error or a failed expectation."""

    check: str  # "parse" or the expectation's type
    message: str
    column: str | None = None
    row: int | None = None
    count: int | None = None
    samples: list[object] = field(default_factory=list)
    sample_rows: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class QuarantineReport:
    release_id: str
    source_name: str
    path: str  # where the raw file is kept (never moved or edited)
    stage: str  # "extract", "transform" or "validate"
    quarantined_at: str
    findings: list[Finding]

    def summary(self) -> str:
        first = self.findings[0].message if self.findings else "no details"
        more = f" (+{len(self.findings) - 1} more)" if len(self.findings) > 1 else ""
        return f"{self.source_name}: {first}{more}"

    def markdown(self) -> str:
        # Every value from the file is quoted as text (markdown.text/code): a sample such as
        # `<img onerror=...>` is shown, never rendered by Prefect's UI or a browser.
        lines = [
            f"# Quarantined: {md.code(self.source_name)}",
            "",
            f"- release (SHA-256): `{self.release_id}`",
            f"- file: {md.code(self.path)} (kept as received)",
            f"- refused at: {self.stage}, {self.quarantined_at}",
            "",
            "| check | column | rows | examples | message |",
            "| --- | --- | --- | --- | --- |",
        ]
        for f in self.findings:
            examples = ", ".join(repr(s) for s in f.samples[:5])
            if f.sample_rows:
                examples += f" (source rows {', '.join(map(str, f.sample_rows[:5]))})"
            rows = f.count if f.count is not None else (f.row or "")
            cells = (f.check, f.column or "", rows, examples, f.message)
            lines.append("| " + " | ".join(md.text(cell) for cell in cells) + " |")
        lines += ["", "Fix or replace the file in the landing folder and run the job again."]
        return "\n".join(lines) + "\n"


def from_release_error(error: ReleaseError) -> list[Finding]:
    return [Finding("parse", error.message(), column=error.field, row=error.row)]


def from_validation(outcome: object) -> list[Finding]:
    """Findings from a validation.ValidationOutcome (duck-typed: GX loads lazily)."""
    return [
        Finding(
            check=f.expectation,
            message=f.message(),
            column=f.column,
            count=f.unexpected_count,
            samples=[str(v) for v in f.sample_values],
            sample_rows=list(f.sample_rows),
        )
        for f in outcome.failures  # type: ignore[attr-defined]
    ]


def write_report(quarantine_dir: Path, report: QuarantineReport) -> Path:
    """`<release_id>.json` and `.md` side by side; returns the Markdown path."""
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    stem = quarantine_dir / report.release_id
    stem.with_suffix(".json").write_text(
        json.dumps(asdict(report), indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )
    markdown = stem.with_suffix(".md")
    markdown.write_text(report.markdown(), encoding="utf-8")
    return markdown


def new_report(
    release_id: str, source_name: str, path: Path, stage: str, findings: list[Finding]
) -> QuarantineReport:
    now = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    return QuarantineReport(release_id, source_name, str(path), stage, now, findings)


def read_reports(quarantine_dir: Path) -> list[QuarantineReport]:
    reports = []
    for path in sorted(quarantine_dir.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        data["findings"] = [Finding(**f) for f in data["findings"]]
        reports.append(QuarantineReport(**data))
    return sorted(reports, key=lambda r: r.quarantined_at)
