"""Methodologies: what each computes and from which inputs, and a dry-run calculation anyone may ask for."""

from __future__ import annotations

from typing import Any

from api.blueprint import api_blueprint as bp
from api.openapi import document
from api.schemas_offsets import (
    CalculateSchema,
    CalculationSchema,
    MethodologyListSchema,
    MethodologySchema,
    dump,
    load_body,
)
from offsets import methodologies
from offsets.errors import InvalidInput, NotFound


def _summary(methodology: methodologies.Methodology) -> dict[str, Any]:
    return {
        "id": methodology.id,
        "title_zh": methodology.title_zh,
        "title_en": methodology.title_en,
        "project_types": list(methodology.project_types),
        "source": methodology.source,
    }


def _methodology(methodology_id: str) -> methodologies.Methodology:
    try:
        return methodologies.get(methodology_id)
    except methodologies.UnknownMethodology as exc:
        raise NotFound(exc.message, field="methodology_id") from exc


@bp.get("/methodologies")
@document(
    "The registered methodologies and the project types they apply to",
    response="MethodologyListSchema",
    tag="methodologies",
)
def list_methodologies() -> dict[str, Any]:
    items = [_summary(m) for m in methodologies.METHODOLOGIES.values()]
    return dump(MethodologyListSchema(), {"items": items})


@bp.get("/methodologies/<methodology_id>")
@document(
    "One methodology: the cited rules it applies, and the description of its inputs",
    response="MethodologySchema",
    tag="methodologies",
)
def get_methodology(methodology_id: str) -> dict[str, Any]:
    methodology = _methodology(methodology_id)
    return dump(
        MethodologySchema(),
        {
            **_summary(methodology),
            "rules": methodology.rule_sources(),
            "inputs": methodology.input_description(),
        },
    )


@bp.post("/methodologies/<methodology_id>/calculate")
@document(
    "Dry run: the net removals and itemised breakdown these inputs give (nothing is recorded)",
    body="CalculateSchema",
    response="CalculationSchema",
    tag="methodologies",
)
def calculate_with_methodology(methodology_id: str) -> dict[str, Any]:
    methodology = _methodology(methodology_id)
    command = load_body(CalculateSchema())
    try:
        calculation = methodology.calculate(command["inputs"])
    except methodologies.MethodologyInputError as exc:
        raise InvalidInput(exc.message, field=f"inputs.{exc.field}" if exc.field else "inputs") from exc
    return dump(CalculationSchema(), calculation.as_dict())
