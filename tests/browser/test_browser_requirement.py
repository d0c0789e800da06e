"""Browser tests skip cleanly without chromium on a developer's machine, and fail in CI."""

from __future__ import annotations

import pytest
from browser_support import CHROMEDRIVER, require_browser


def test_a_missing_browser_skips_outside_ci(tmp_path):
    with pytest.raises(pytest.skip.Exception, match="scripts/ensure-browser"):
        require_browser(tmp_path / "chromium", CHROMEDRIVER, environ={})


def test_a_missing_browser_fails_in_ci(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="chromedriver"):
        require_browser(tmp_path / "chromium", tmp_path / "chromedriver", environ={"CI": "true"})
