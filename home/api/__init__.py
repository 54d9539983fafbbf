"""Home's JSON API: the lookups, KPIs and analytics series the page shows, for scripts."""

from ninja import Router

from home.api import analytics, lookups, overview

router = Router(tags=["home"])
router.add_router("/", overview.router)
router.add_router("/", lookups.router)
router.add_router("/", analytics.router)
