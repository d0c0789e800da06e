"""Methodology calculators: net removals of a monitoring period, with an itemised, sourced breakdown.

Use :func:`get` (or :data:`METHODOLOGIES`, :func:`for_project_type`) and call ``calculate(inputs)``; see
each methodology's ``input_description()`` for its inputs and ``base`` for what a calculation holds.
"""

from offsets.methodologies.base import (
    Calculation,
    Methodology,
    MethodologyInputError,
    Parameter,
    Term,
    UnknownMethodology,
)
from offsets.methodologies.parameters import ParameterDataError
from offsets.methodologies.registry import METHODOLOGIES, for_project_type, get

__all__ = [
    "METHODOLOGIES",
    "Calculation",
    "Methodology",
    "MethodologyInputError",
    "Parameter",
    "ParameterDataError",
    "Term",
    "UnknownMethodology",
    "for_project_type",
    "get",
]
