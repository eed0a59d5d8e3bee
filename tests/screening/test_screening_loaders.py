from __future__ import annotations

from pathlib import Path

import pytest

from filiere.config import load_settings
from filiere.errors import UserInputError
from filiere.screening.loaders import load_list, ofac_date, parse_ofac_remarks
from filiere.screening.models import ListEntity
from filiere.screening.repository import current_entities, list_versions, save_list
from filiere.store import open_store


def test_un_real_file(real_entities: list[ListEntity]) -> None:
    un = {e.entity_id: e for e in real_entities if e.entity_id.startswith("un:")}
    assert len(un) == 1003
    z = un["un:QDi.006"]
    assert z.schema == "Person"
    assert "أيمن محمد ربيع الظواهري" in z.names
    assert "Dhawahri Ayman" in z.names
    assert "Abu Fatma" in z.weak_names and "Abu Fatma" not in z.names
    assert z.birth_dates == ["1951-06-19"]
    assert z.countries == ["eg"]
    assert sum(e.schema == "Organization" for e in un.values()) == 273


def test_ofac_csv_real_file(real_entities: list[ListEntity]) -> None:
    ofac = {e.entity_id: e for e in real_entities if e.entity_id.startswith("ofac:")}
    assert len(ofac) == 8976
    yan = ofac["ofac:25308"]
    assert yan.names[0] == "Xiaobing YAN"
    assert "XBT:12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h" in yan.crypto and len(yan.crypto) == 6
    assert yan.birth_dates == ["1977-03-25"] and yan.countries == ["cn"] and yan.gender == "male"
    assert "ZHOU, William" in yan.weak_names
    # aliases come from the alt file
    assert "NATIONAL BANK OF CUBA" in ofac["ofac:306"].names
    assert ofac["ofac:306"].schema == "Organization"


def test_ofac_remarks_and_dates() -> None:
    info = parse_ofac_remarks("DOB 1955 to 1957; nationality Iran; Passport T14553558 (Iran); Gender Female")
    assert info["birth_dates"] == ["1955", "1956", "1957"]
    assert info["countries"] == ["ir"] and info["gender"] == "female"
    assert info["identifiers"] == ["T14553558"]
    assert ofac_date("05 Jan 1960") == "1960-01-05" and ofac_date("Jan 1960") == "1960-01"


def test_tagpack(shared_data: Path) -> None:
    tp = load_list(shared_data / "crypto" / "tagpack_ofac.yaml", "tagpack")
    assert tp.list_id == "tagpack:ofac" and tp.version_date == "2024-02-26"
    assert all(e.schema == "CryptoWallet" for e in tp.entities)
    assert any(c.startswith("ETH:0x") for e in tp.entities for c in e.crypto)


def test_ofac_advanced_xml_sample(fixtures: Path) -> None:
    lst = load_list(fixtures / "ofac_advanced_sample.xml", "ofac-xml")
    assert lst.version_date == "2024-02-26"
    ents = {e.entity_id: e for e in lst.entities}
    z = ents["ofac:2676"]
    assert z.names == ["Ayman AL-ZAWAHIRI", "Ahmad Fuad SALIM"] and z.weak_names == ["The Doctor"]
    assert z.birth_dates == ["1951-06-19"] and z.countries == ["eg"] and z.programs == ["SDGT"]
    assert ents["ofac:25308"].crypto == ["XBT:12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h"]
    assert ents["ofac:25308"].gender == "male"


def test_eu_xml_sample(fixtures: Path) -> None:
    lst = load_list(fixtures / "eu_fsf_sample.xml", "eu-xml")
    ents = {e.entity_id: e for e in lst.entities}
    assert lst.version_date == "2024-03-01"
    z = ents["eu:1234"]
    assert z.schema == "Person" and z.gender == "male" and z.identifiers == ["1084010"]
    assert "أيمن محمد ربيع الظواهري" in z.names and z.countries == ["eg"]
    assert ents["eu:5678"].schema == "Organization"


def test_ftm_sample(fixtures: Path) -> None:
    lst = load_list(fixtures / "opensanctions_sample.ftm.json", "ftm")
    ents = {e.entity_id: e for e in lst.entities}
    assert set(ents) == {"ftm:NK-person-1", "ftm:NK-company-1", "ftm:NK-wallet-1"}  # the Address is not screened
    assert ents["ftm:NK-person-1"].names == ["Abu Bakr al-Baghdadi", "Ibrahim Awad Ibrahim al-Badri"]
    assert ents["ftm:NK-wallet-1"].crypto == ["ETH:0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]


@pytest.mark.parametrize(
    ("content", "fmt", "message"),
    [
        ("<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL>", "un-xml", "not well-formed XML"),
        ("<other/>", "un-xml", "not a UN consolidated list"),
        ("<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><DATAID>1</DATAID></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>",
         "un-xml", "no name"),
        ('1,"A B","individual","SDGT"\n', "ofac-csv", "row 1: expected 12 fields, found 4"),
        ('x,"A B",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\n', "ofac-csv", "field ent_num"),
        ('{"id": "x"}\n', "ftm", "line 1: not a FollowTheMoney entity"),
        ('{"id": "x", "schema": "Nope", "properties": {}}\n', "ftm", "line 1, field schema"),
        ("title: x\ntags:\n- label: no address\n", "tagpack", "tag 1, field address"),
        ("<Sanctions><DistinctParties/></Sanctions>", "ofac-xml", "no DistinctParty"),
        ("<export><sanctionEntity logicalId='1'/></export>", "eu-xml", "sanctionEntity 1: no nameAlias"),
    ],
)  # fmt: skip
def test_bad_files_raise_clear_errors(tmp_path: Path, content: str, fmt: str, message: str) -> None:
    bad = tmp_path / "list.bad"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(UserInputError, match=message) as err:
        load_list(bad, fmt)
    assert str(bad) in str(err.value)


def test_versions_and_diff(workspace: Path, fixtures: Path) -> None:
    settings = load_settings(workspace)
    with open_store(settings) as store:
        r1 = save_list(store, load_list(fixtures / "un_v1.xml", "un-xml"))
        assert (len(r1.added), len(r1.removed), len(r1.amended)) == (4, 0, 0)
        r2 = save_list(store, load_list(fixtures / "un_v2.xml", "un-xml"))
        assert r2.previous_version == r1.version_id
        assert r2.added == ["un:QDi.102"] and r2.removed == ["un:QDi.100"] and r2.amended == ["un:QDi.101"]
        again = save_list(store, load_list(fixtures / "un_v2.xml", "un-xml"))
        assert again.unchanged_file
        versions = list_versions(store)
        assert [v["is_current"] for v in versions] == [False, True]
        assert versions[1]["version_date"] == "2026-02-01"
        ids = {e.entity_id for e in current_entities(store)}
        assert ids == {"un:QDi.006", "un:QDi.101", "un:QDi.102", "un:QDe.005"}


def test_failed_save_leaves_nothing(workspace: Path, fixtures: Path) -> None:
    """A failure inside the transaction rolls the whole version back."""
    settings = load_settings(workspace)
    good = load_list(fixtures / "un_v1.xml", "un-xml")
    broken = load_list(fixtures / "un_v2.xml", "un-xml")
    broken.entities.append(broken.entities[0])  # duplicate primary key (version_id, entity_id)
    with open_store(settings) as store:
        save_list(store, good)
        with pytest.raises(Exception):  # noqa: B017 - any database error
            save_list(store, broken)
        versions = list_versions(store)
        assert len(versions) == 1 and versions[0]["is_current"]
        assert int(store.scalar("SELECT count(*) FROM list_entities")) == len(good.entities)
