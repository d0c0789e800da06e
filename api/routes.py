"""The ``/api/v1`` blueprint with every feature's routes: each feature module registers its own on import."""

from __future__ import annotations

from api import (  # noqa: F401
    affiliations_views,
    certificates_views,
    events_views,
    exports_views,
    footprints_views,
    health_views,
    ledger_views,
    lots_views,
    methodologies_views,
    monitoring_views,
    onboarding_views,
    openapi_views,
    orders_views,
    organisations_views,
    payments_views,
    preorders_views,
    projects_views,
    quotes_views,
    regions_views,
    reports_views,
    reversals_views,
    sales_views,
    statements_views,
)
from api.blueprint import api_blueprint

__all__ = ["api_blueprint"]
