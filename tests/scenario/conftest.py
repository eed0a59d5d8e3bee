from __future__ import annotations

from pathlib import Path

import pytest

from filiere.scenario import generate


@pytest.fixture(scope="session")
def sahel_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sahel")
    generate("sahel", 300_000, 11, out)
    return out


@pytest.fixture(scope="session")
def hi_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hi")
    generate("amlworld-hi", 300_000, 12, out)
    return out
