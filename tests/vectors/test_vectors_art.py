from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from filiere.config import load_settings
from filiere.store import open_store
from filiere.vectors.art.match import ArtIndex
from filiere.vectors.art.measure import compare_dims, parse_measurements, parse_number
from filiere.vectors.art.records import ArtObject, finish, parse_period, read_objects
from filiere.vectors.art.service import load_register, match_file

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "vectors"


@pytest.mark.parametrize(
    ("text", "cm"),
    [
        ('72" x 60"', (182.88, 152.4)),
        ("31.5 in x 47.25 in", (120.015, 80.01)),
        ("12 1/2 x 9-3/4 in", (31.75, 24.765)),
        ("50.00 x 60.00 cm", (60.0, 50.0)),
        ("9' x 6'", (274.32, 182.88)),
        ("5' 6\"", (167.64,)),
        ("230 mm", (23.0,)),
        ("27.2 x 15.5 x 15.5 cm", (27.2, 15.5, 15.5)),
        ("20 x 16 in, frame 25 x 21 in", (50.8, 40.64)),
        ("10 x 8 inches (image); 14 x 12 inches (framed)", (25.4, 20.32)),
    ],
)
def test_measurements_parse_to_cm(text: str, cm: tuple[float, ...]) -> None:
    m = parse_measurements(text)
    assert m is not None
    assert m.dims_cm == pytest.approx(cm, abs=0.01)


def test_measurements_without_numbers_and_fractions() -> None:
    assert parse_measurements("Height") is None
    assert parse_measurements("") is None
    assert parse_number("12 1/2") == 12.5
    assert parse_number("3/4") == 0.75
    assert parse_number("12,5") == 12.5


def test_units_compare_equal_across_in_and_cm() -> None:
    a = parse_measurements("12 1/2 x 20 in")
    b = parse_measurements("50.8 x 31.8 cm")  # same object, rounded, written the other way round
    assert a is not None and b is not None
    sim, rel = compare_dims(a.dims_cm, b.dims_cm)
    assert sim == 1.0 and rel < 0.02
    c = parse_measurements("12 1/2 x 30 in")
    assert c is not None
    assert compare_dims(a.dims_cm, c.dims_cm)[0] < 0.7


def test_period_ranges() -> None:
    assert parse_period("Circa 1875") == (1865, 1885)
    assert parse_period("19th Century") == (1800, 1899)
    assert parse_period("18th-19th Century") == (1700, 1899)
    assert parse_period("1864-1926") == (1864, 1926)
    assert parse_period("Ming dynasty") == (None, None)


@pytest.fixture(scope="module")
def index() -> ArtIndex:
    objs = read_objects(FIX / "nsaf_sample.csv")
    return ArtIndex([o.object_id("fbi_nsaf") for o in objs], objs)


def test_match_with_typos_name_variant_and_units(index: ArtIndex) -> None:
    q = finish(ArtObject(title="Two Whte Stars", maker="Calder, Alexander", measurements="29 x 42 1/2 in", row=1))
    res = index.match(q)
    best = res.candidates[0]
    assert best.title == "Two White Stars"
    assert best.score > 0.9
    fields = {e["field"]: e for e in best.explanation}
    assert fields["maker"]["similarity"] == 1.0  # "Calder, Alexander" is "Alexander Calder"
    assert fields["measurements"]["similarity"] == 1.0  # inches vs centimetres
    assert fields["measurements"]["query_cm"] == pytest.approx([107.95, 73.66], abs=0.01)
    assert "title" in best.summary()
    # another work by the same artist ranks below and stays under the alert threshold
    others = [c for c in res.candidates[1:] if c.maker == "Alexander Calder"]
    assert all(c.score < 0.75 for c in others)


def test_unrelated_object_does_not_match(index: ArtIndex) -> None:
    q = finish(
        ArtObject(title="Harbour at dusk with fishing boats", maker="Jan Vermeulen", measurements="40 x 50 cm", row=1)
    )
    res = index.match(q)
    assert not res.candidates or res.candidates[0].score < 0.6


def test_missing_fields_still_rank(index: ArtIndex) -> None:
    q = finish(ArtObject(title="Acorn", object_type="lamp", row=1))
    res = index.match(q)
    assert res.candidates[0].title == "Acorn"


def test_image_match_survives_rotation_and_crop(tmp_path: Path) -> None:
    cv2 = pytest.importorskip("cv2")
    skdata = pytest.importorskip("skimage.data")
    imgs = {"astronaut": skdata.astronaut(), "coffee": skdata.coffee(), "chelsea": skdata.chelsea()}
    objs = []
    for i, (name, arr) in enumerate(imgs.items(), start=1):
        p = tmp_path / f"{name}.png"
        cv2.imwrite(str(p), cv2.cvtColor(arr, cv2.COLOR_RGB2BGR))
        objs.append(finish(ArtObject(reference_number=f"IMG{i}", title=name, image_path=str(p), row=i)))
    ix = ArtIndex([o.object_id("img") for o in objs], objs)
    ix.prepare_images()
    src = cv2.cvtColor(imgs["coffee"], cv2.COLOR_RGB2BGR)
    h, w = src.shape[:2]
    rot = cv2.warpAffine(src, cv2.getRotationMatrix2D((w / 2, h / 2), 20, 1.0), (w, h))[40 : h - 60, 50 : w - 80]
    qp = tmp_path / "query.jpg"
    cv2.imwrite(str(qp), rot, [cv2.IMWRITE_JPEG_QUALITY, 60])
    res = ix.match(finish(ArtObject(image_path=str(qp), row=1)))
    assert res.candidates[0].reference_number == "IMG2"
    img_expl = next(e for e in res.candidates[0].explanation if e["field"] == "image")
    assert img_expl["method"] == "orb+ransac" and img_expl["orb_inliers"] >= 12
    assert np.all(ix.phash[ix.has_image] != 0)


def test_cli_flow_load_match_alert(workspace: Path, tmp_path: Path) -> None:
    q = tmp_path / "offer.csv"
    with q.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Title", "Maker/Artist", "Measurements", "Seller Party ID", "Buyer Party ID"])
        w.writerow(["Two White Stars", "A. Calder", "73.5 x 108 cm", "P-SELLER", "P-BUYER"])
        w.writerow(["", "", "", "", ""])
        w.writerow(["Completely different thing", "Nobody Known", "", "", ""])
    out = tmp_path / "out.csv"
    settings = load_settings(workspace)
    with open_store(settings) as store:
        rep = load_register(store, FIX / "nsaf_sample.csv")
        assert rep.stored == rep.read > 0
        _results, n = match_file(store, q, out=out)
        assert n == 1
        row = store.query_dicts("SELECT * FROM alerts")[0]
        # reloading replaces, matching twice raises nothing twice
        load_register(store, FIX / "nsaf_sample.csv")
        assert match_file(store, q, out=out)[1] == 0
    assert row["indicator_codes"] == ["PCAN"]
    assert sorted(row["party_ids"]) == ["P-BUYER", "P-SELLER"]
    assert "Two White Stars" in row["title"]
    assert json.loads(row["explanation"])["matches"][0]["reference_number"] == "00006"
    rows = list(csv.DictReader(out.open()))
    assert rows[0]["query_row"] == "1" and rows[0]["rank"] == "1"
    assert float(rows[0]["score"]) >= float(rows[1]["score"])
    assert "measurements" in json.loads(rows[0]["explanation"])["summary"]


def test_full_register_loads(shared_data: Path) -> None:
    objs = read_objects(shared_data / "art" / "fbi_nsaf.csv")
    assert len(objs) == 4523
    assert sum(1 for o in objs if o.dims_cm) > 3000


def test_bad_file_names_the_problem(tmp_path: Path) -> None:
    from filiere.errors import UserInputError

    p = tmp_path / "x.csv"
    p.write_text("foo,bar\n1,2\n")
    with pytest.raises(UserInputError, match="no known column"):
        read_objects(p)
