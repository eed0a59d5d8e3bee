from __future__ import annotations

from pathlib import Path

import pytest

from filiere.screening.loaders import load_list
from filiere.screening.models import ListEntity
from filiere.screening.service import Screener

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "screening"
SHARED = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def real_entities() -> list[ListEntity]:
    if not SHARED.exists():
        pytest.skip("../shared/data is not beside this checkout")
    un = load_list(SHARED / "sanctions" / "un_consolidated.xml", "un-xml")
    ofac = load_list(SHARED / "sanctions" / "ofac_sdn.csv", "ofac-csv")
    return un.entities + ofac.entities


@pytest.fixture(scope="session")
def screener(real_entities: list[ListEntity]) -> Screener:
    return Screener(real_entities)


@pytest.fixture()
def fixtures() -> Path:
    return FIXTURES
