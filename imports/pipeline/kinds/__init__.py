"""Per-kind row validation and finalization of imports."""

from imports.models import ImportJob, ImportKind
from imports.pipeline.kinds.base import KindHandler


def handler_for_job(job: ImportJob) -> KindHandler:
    from imports.pipeline.kinds.pricelist import PriceListHandler
    from imports.pipeline.kinds.products import ProductsHandler
    from imports.pipeline.kinds.sales import SalesHandler
    from imports.pipeline.kinds.stock import StockHandler

    handlers = {
        ImportKind.PRODUCTS: ProductsHandler,
        ImportKind.PRICELIST: PriceListHandler,
        ImportKind.STOCK: StockHandler,
        ImportKind.SALES: SalesHandler,
    }
    return handlers[job.kind](job)
