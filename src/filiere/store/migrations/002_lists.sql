-- Screening lists: every loaded version of a sanctions / crypto list and the entities it holds.
CREATE TABLE IF NOT EXISTS list_versions (
    version_id   VARCHAR PRIMARY KEY,      -- list_id || '@' || sha256 prefix of the file
    list_id      VARCHAR NOT NULL,         -- un | ofac | ofac-adv | eu | ftm:<dataset> | tagpack:<name>
    list_format  VARCHAR NOT NULL,         -- un-xml | ofac-csv | ofac-xml | eu-xml | ftm | tagpack
    version_date VARCHAR,                  -- the publisher's date (ISO), when the file carries one
    loaded_at    TIMESTAMP NOT NULL,
    source_path  VARCHAR NOT NULL,
    sha256       VARCHAR NOT NULL,
    entities     BIGINT NOT NULL,
    added        BIGINT NOT NULL,
    removed      BIGINT NOT NULL,
    amended      BIGINT NOT NULL,
    is_current   BOOLEAN NOT NULL          -- the latest version of its list
);

CREATE TABLE IF NOT EXISTS list_entities (
    version_id   VARCHAR NOT NULL,
    list_id      VARCHAR NOT NULL,
    entity_id    VARCHAR NOT NULL,         -- the publisher's id, prefixed with the list id
    schema       VARCHAR NOT NULL,         -- FtM schema: Person, Organization, Vessel, Airplane, CryptoWallet
    caption      VARCHAR NOT NULL,
    names        VARCHAR[] NOT NULL,       -- primary name first, then aliases (Latin and original script)
    weak_names   VARCHAR[],                -- low-quality aliases, noms de guerre
    birth_dates  VARCHAR[],                -- ISO dates or prefixes (year, year-month)
    countries    VARCHAR[],                -- ISO 3166 alpha-2, lower case (nationality, citizenship)
    gender       VARCHAR,                  -- male | female
    identifiers  VARCHAR[],                -- passport and national id numbers, normalised
    crypto       VARCHAR[],                -- 'CUR:address'
    programs     VARCHAR[],
    listed_on    VARCHAR,
    content_hash VARCHAR NOT NULL,         -- hash of the fields above: a change marks an amendment
    PRIMARY KEY (version_id, entity_id)
);
