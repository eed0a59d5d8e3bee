-- Crime vectors: art and antiquities objects (Object ID fields), trade declarations and their price
-- flags, and crypto address tags. Crypto addresses themselves are accounts (kind 'crypto',
-- account_id = chain || ':' || address) and transfers between them are transactions.
CREATE TABLE IF NOT EXISTS art_objects (
    object_id        VARCHAR PRIMARY KEY,      -- register || ':' || reference_number
    register         VARCHAR NOT NULL,         -- fbi_nsaf, interpol, a dealer's stock…
    reference_number VARCHAR NOT NULL,
    object_type      VARCHAR,                  -- Object ID: type of object (the FBI's Category)
    title            VARCHAR,
    maker            VARCHAR,
    materials        VARCHAR,
    technique        VARCHAR,
    measurements     VARCHAR,                  -- as written
    dims_cm          DOUBLE[],                 -- parsed measurements in centimetres, largest first
    period           VARCHAR,                  -- date or period as written
    year_from        INTEGER,
    year_to          INTEGER,
    inscriptions     VARCHAR,
    distinguishing_features VARCHAR,
    description      VARCHAR,
    image_url        VARCHAR,
    image_path       VARCHAR,                  -- a local image file, when one was given
    phash            UBIGINT,                  -- 64-bit perceptual hash of the image
    properties       JSON,
    source_file      VARCHAR,
    source_row       BIGINT,
    loaded_at        TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS trade_transactions (
    trade_id     VARCHAR PRIMARY KEY,
    date         DATE NOT NULL,
    flow         VARCHAR NOT NULL,             -- import | export (as declared by the reporting country)
    hs_code      VARCHAR NOT NULL,             -- as declared (6 to 10 digits)
    hs6          VARCHAR NOT NULL,
    description  VARCHAR,
    quantity     DOUBLE NOT NULL,
    unit         VARCHAR NOT NULL,             -- kg, u (units), l, g, m2…
    value        DOUBLE NOT NULL,
    currency     VARCHAR NOT NULL,
    value_usd    DOUBLE NOT NULL,
    origin       VARCHAR NOT NULL,             -- ISO 3166 alpha-2, upper case
    destination  VARCHAR NOT NULL,
    importer     VARCHAR,                      -- party_id when known
    exporter     VARCHAR,
    is_misinvoiced BOOLEAN,                    -- ground truth, when the source carries it
    scheme       VARCHAR,
    source_file  VARCHAR,
    source_row   BIGINT
);

CREATE TABLE IF NOT EXISTS trade_flags (
    trade_id     VARCHAR NOT NULL,
    rule         VARCHAR NOT NULL,             -- price_high_import | price_low_export | unlikely_origin | goods_business
    score        DOUBLE NOT NULL,
    robust_z     DOUBLE,
    unit_price_usd DOUBLE,
    ref_median   DOUBLE,
    ref_low      DOUBLE,
    ref_high     DOUBLE,
    ref_n        BIGINT,
    ref_level    VARCHAR,                      -- pair | world
    detail       VARCHAR,
    scanned_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (trade_id, rule)
);

CREATE TABLE IF NOT EXISTS crypto_tags (
    chain     VARCHAR NOT NULL,                -- BTC, ETH…
    address   VARCHAR NOT NULL,
    label     VARCHAR,
    category  VARCHAR NOT NULL,                -- ransomware | terrorism | sanctions | exchange | mixer | other
    tagpack   VARCHAR NOT NULL,
    source    VARCHAR,
    confidence VARCHAR,
    PRIMARY KEY (chain, address, tagpack)
);
