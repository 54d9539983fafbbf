"""The {% analytics_section %} tag, which renders Home's analytics section with its data."""

from django import template
from django.utils import timezone

from home.views.analytics import analytics_context

register = template.Library()


@register.inclusion_tag("home/partials/analytics/section.html", takes_context=True)
def analytics_section(context: template.Context) -> dict:
    """Render the charts and data tables of the page's `store` for its `business_date`.

    Home's view builds the context of the other sections, and this tag builds the
    analytics part, so the section stays in one place. Without a business date on the
    page it shows today.
    """
    day = context.get("business_date") or timezone.localdate()
    return analytics_context(store=context["store"], day=day)
