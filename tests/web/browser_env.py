"""What the browser tests share: Debian's Chromium, its headless flags, the vendored Cytoscape.js."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VENDOR = ROOT / "src" / "filiere" / "web" / "static" / "vendor" / "cytoscape.min.js"

#: marks of every browser test (CI runs them with --runslow)
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed (run `make browser`)"),
    pytest.mark.skipif(not VENDOR.exists(), reason="Cytoscape.js not installed (run `make web-assets`)"),
]
