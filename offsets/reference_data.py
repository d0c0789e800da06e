"""The packaged reference data, loaded and checked in one place when the registry starts.

Each data file is read and validated by its own loader, once per process, the first time something needs
it: the administrative divisions, zones and poverty-alleviation counties (``offsets.regions``), Sichuan's
extent (``offsets.geo``), the buffer shares (``offsets.buffer_policy``), every version of the footprint
emission factors (``offsets.footprints.factors``) and the methodologies' parameters and rules
(``offsets.methodologies.parameters``). Left to themselves, a bad file would fail the first request that
reads it, perhaps days after a deployment; and a rule a methodology's calculator cannot apply would fail
the first monitoring report that needs it. :func:`check_reference_data` loads them all and runs each
methodology's ``check_rules``, so that ``create_app`` refuses to start with one message naming the data
and what is wrong. The loaders keep what they read, so the requests that follow load nothing again.
"""

from __future__ import annotations

from collections.abc import Callable

from offsets import buffer_policy, geo, regions
from offsets.footprints import factors
from offsets.methodologies import METHODOLOGIES


class ReferenceDataError(Exception):
    """A packaged reference data file cannot be read, or holds what the code cannot apply."""


def _footprint_factors() -> None:
    for version in factors.packaged_versions():
        factors.packaged(version)


def _methodology_rules() -> None:
    for methodology in METHODOLOGIES.values():
        methodology.check_rules()  # loads the packaged parameter data first


#: What is checked, in order, each with the name the refusal gives it.
CHECKS: tuple[tuple[str, Callable[[], object]], ...] = (
    ("administrative divisions, zones and poverty-alleviation counties", regions.regions),
    ("Sichuan's extent", geo.sichuan_bounding_box),
    ("buffer shares", buffer_policy.buffer_percent_by_type),
    ("footprint emission factors", _footprint_factors),
    ("methodology parameters and rules", _methodology_rules),
)


def check_reference_data() -> None:
    """Load every packaged reference data file; :class:`ReferenceDataError` naming the first that fails.

    Any exception of a loader counts (a data error, a missing key or file, a value that is not a number):
    each names the file and place itself, and the refusal prefixes what was being loaded.
    """
    for name, check in CHECKS:
        try:
            check()
        except Exception as error:  # any failure to load the data stops the start
            raise ReferenceDataError(f"reference data ({name}): {error}") from error
