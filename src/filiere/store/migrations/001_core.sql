-- Core tables: where ingested data lives. Amounts are DOUBLE (AMLworld carries sub-cent crypto amounts).
CREATE TABLE IF NOT EXISTS source_files (
    file_id      VARCHAR PRIMARY KEY,      -- sha256 of the file's bytes (plus mapping, when one applies)
    path         VARCHAR NOT NULL,
    format       VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,         -- transactions | accounts | parties
    ingested_at  TIMESTAMP NOT NULL,
    rows_read    BIGINT NOT NULL,
    rows_stored  BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    rows_duplicate   BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS parties (
    party_id     VARCHAR PRIMARY KEY,
    schema       VARCHAR NOT NULL,         -- FollowTheMoney schema: Person, Company, Organization, LegalEntity
    name         VARCHAR,
    birth_date   VARCHAR,                  -- ISO date or prefix (year, year-month), as FtM does
    nationality  VARCHAR,                  -- ISO 3166 alpha-2, lower case like FtM
    country      VARCHAR,
    address      VARCHAR,
    phone        VARCHAR,
    email        VARCHAR,
    id_number    VARCHAR,
    entity_type  VARCHAR,                  -- business role: pharmacy, npo, mm_agent, exchange, art_dealer…
    properties   JSON,                     -- every other FtM property
    source_file_id VARCHAR
);

CREATE TABLE IF NOT EXISTS accounts (
    account_id     VARCHAR PRIMARY KEY,    -- bank || ':' || account_number
    bank           VARCHAR NOT NULL,
    account_number VARCHAR NOT NULL,
    bank_name      VARCHAR,
    currency       VARCHAR,
    kind           VARCHAR,                -- bank | mobile | crypto
    owner_party_id VARCHAR,
    properties     JSON,
    source_file_id VARCHAR
);

CREATE TABLE IF NOT EXISTS transactions (
    tx_id              VARCHAR PRIMARY KEY,
    ts                 TIMESTAMP NOT NULL,
    from_bank          VARCHAR NOT NULL,
    from_account       VARCHAR NOT NULL,   -- account_id (bank:number)
    to_bank            VARCHAR NOT NULL,
    to_account         VARCHAR NOT NULL,
    amount_received    DOUBLE NOT NULL,
    receiving_currency VARCHAR NOT NULL,
    amount_paid        DOUBLE NOT NULL,
    payment_currency   VARCHAR NOT NULL,
    payment_format     VARCHAR NOT NULL,
    is_laundering      BOOLEAN,            -- label when the source carries one (AMLworld, scenario worlds)
    source_file_id     VARCHAR,
    source_row         BIGINT,             -- 1-based data row (or element ordinal for XML)
    properties         JSON                -- remittance info, references, party names from XML…
);

CREATE TABLE IF NOT EXISTS quarantine (
    source_file_id VARCHAR,
    path        VARCHAR NOT NULL,
    row_number  BIGINT,                    -- 1-based data row; for XML the element ordinal
    location    VARCHAR,                   -- XML element path or column name
    field       VARCHAR,
    reason      VARCHAR NOT NULL,
    raw         VARCHAR,
    quarantined_at TIMESTAMP NOT NULL
);
