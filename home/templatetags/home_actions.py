"""Template tags of Home's Quick Actions section."""

from django import template

from home.views.actions import action_forms
from inventory.models import SerialStatus

register = template.Library()


@register.simple_tag(takes_context=True)
def quick_actions_forms(context: template.Context) -> dict:
    """Return the empty forms of the Quick Actions dialogs for the page's request."""
    return action_forms(context["request"])


@register.filter
def serial_status_label(status: str) -> str:
    """Return the label of a serial unit status, such as "In stock" for ``in_stock``."""
    try:
        return SerialStatus(status).label
    except ValueError:
        return status


@register.filter
def status_counts(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Return unit counts by status in the order of SerialStatus, skipping empty ones."""
    return [(status.value, counts[status.value]) for status in SerialStatus if counts.get(status.value)]
