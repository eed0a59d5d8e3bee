"""The core stays light: `filiere --help` imports none of the heavy optional dependencies."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numba", "lightgbm", "sklearn", "fastapi", "uvicorn", "weasyprint", "cv2", "xmlschema", "matplotlib")

PROBE = """
import sys
from typer.testing import CliRunner
from filiere.cli import app
res = CliRunner().invoke(app, ["--help"])
assert res.exit_code == 0, res.output
loaded = sorted(m for m in {heavy!r} if m in sys.modules)
print(",".join(loaded))
"""


def test_help_imports_no_heavy_dependency() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY)], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "", f"heavy modules imported by `filiere --help`: {out.stdout.strip()}"


def test_missing_extra_is_named() -> None:
    from filiere._lazy import require
    from filiere.errors import MissingExtraError

    try:
        require("filiere_no_such_module_xyz", "graph")
    except MissingExtraError as exc:
        assert "filiere[graph]" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("require() should have raised")
