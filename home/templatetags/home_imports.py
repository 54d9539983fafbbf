"""Template tags of Home's imports section; static/js/import-status.js formats the same way."""

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

from home.views.imports import imports_context

register = template.Library()

PHASE_TEXT = {
    "queued": "Queued...",
    "parsing": "Parsing...",
    "validating": "Validating...",
    "loading": "Loading...",
    "finalizing": "Finalizing...",
    "done": "Done",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
# Names of the symbols in static/icons.svg.
STATUS_ICON = {
    "queued": "info",
    "parsing": "spinner",
    "validating": "spinner",
    "loading": "spinner",
    "finalizing": "spinner",
    "done": "ok",
    "failed": "fail",
    "cancelled": "close",
}
# Badge classes of portal.css: badge-info, badge-ok, badge-warn and badge-fail.
STATUS_TONE = {"done": "ok", "failed": "fail", "cancelled": "warn"}
NO_VALUE = "\u2014"


@register.simple_tag(takes_context=True)
def imports_section(context: template.Context) -> dict:
    """Return the context of the imports section for the page's request."""
    return imports_context(context["request"])


@register.filter
def import_phase(status: str) -> str:
    """Phase text of a job status, such as "Validating..." or "Done"."""
    return PHASE_TEXT.get(status, status)


@register.filter
def import_icon(status: str) -> str:
    """Name of the icon that goes with a job status."""
    return STATUS_ICON.get(status, "info")


@register.filter
def import_tone(status: str) -> str:
    """Badge tone of a job status: ok, fail, warn, or info while it runs."""
    return STATUS_TONE.get(status, "info")


@register.filter
def import_eta(seconds: int | None) -> str:
    """Time left as m:ss or h:mm:ss, or a dash while the job cannot estimate it."""
    if seconds is None:
        return NO_VALUE
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


@register.filter
def import_rate(rows_per_second: float | None) -> str:
    """Rows per second as a whole number with thousands separators, or a dash."""
    if rows_per_second is None:
        return NO_VALUE
    return intcomma(round(rows_per_second))


@register.filter
def import_pct(pct: float) -> int:
    """Whole percent, rounded down, so that 99.6 does not read as finished."""
    return int(pct or 0)


@register.filter
def import_line(payload: dict) -> str:
    """Summarise a job in one line: progress, rate and time left while it runs, else its outcome."""
    if not payload:
        return ""
    status = payload["status"]
    if status == "done":
        if payload.get("dry_run"):
            line = f"Dry run: {intcomma(payload['rows_ok'])} rows OK"
        else:
            line = f"{intcomma(payload['rows_ok'])} rows imported"
        if payload["rows_bad"]:
            line += f" \u00b7 {intcomma(payload['rows_bad'])} rejected"
        return line + (", nothing changed" if payload.get("dry_run") else "")
    if status == "failed":
        return f"Failed: {payload['failure_reason'] or 'no reason was recorded.'}"
    if status == "cancelled":
        return f"Cancelled at {import_pct(payload['pct'])}%"
    line = f"{import_phase(status)} {import_pct(payload['pct'])}%"
    if payload["throughput_rps"] is not None:
        line += f" \u00b7 {import_rate(payload['throughput_rps'])} rows/s"
    return line + f" \u00b7 ETA {import_eta(payload['eta_seconds'])}"
