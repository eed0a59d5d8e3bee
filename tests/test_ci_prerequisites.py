"""On CI, the browser tests' prerequisites must be there: a skip would hide a broken install step."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not os.environ.get("CI"), reason="only enforced on CI (CI=true)")
def test_browser_prerequisites_installed_by_make_test() -> None:
    assert shutil.which("chromium") or Path("/usr/bin/chromium").exists(), "make browser did not install chromium"
    assert (ROOT / "src/filiere/web/static/vendor/cytoscape.min.js").exists(), "make web-assets did not run"
