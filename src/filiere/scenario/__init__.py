"""filiere.scenario: seeded synthetic financial worlds with hidden schemes and their ground truth.

Public API: :func:`generate` writes a world (AMLworld CSV files, FtM parties, truth.json) and
:func:`grade` scores flagged transactions or accounts against a world's truth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from filiere.scenario.generator import GenerateResult

__all__ = ["GenerateResult", "generate", "grade"]


def generate(
    template: str,
    rows: int,
    seed: int,
    out: Path,
    *,
    progress: bool = False,
    vectors: bool | None = None,
    shared_data: Path | None = None,
) -> GenerateResult:
    """Generate a world into folder ``out`` (see :mod:`filiere.scenario.generator`); ``vectors``
    (default: the template's) adds the crime-vector files (:mod:`filiere.scenario.vectors`)."""
    from filiere.scenario.generator import generate as _generate

    return _generate(template, rows, seed, out, progress=progress, vectors=vectors, shared_data=shared_data)


def grade(truth_dir: Path, answers_path: Path) -> dict[str, Any]:
    """Score an answers file against a world's truth (see :mod:`filiere.scenario.grading`)."""
    from filiere.scenario.grading import grade as _grade

    return _grade(truth_dir, answers_path)


def __getattr__(name: str) -> Any:
    if name == "GenerateResult":
        from filiere.scenario.generator import GenerateResult

        return GenerateResult
    raise AttributeError(name)
