-- Alerts raised by every detector (model, rules, screening, real-time, crime vectors) and the cases
-- they are merged into. Each alert explains itself (explanation JSON) and names what it concerns.
CREATE TABLE IF NOT EXISTS alerts (
    alert_id        VARCHAR PRIMARY KEY,
    dedup_key       VARCHAR NOT NULL UNIQUE,  -- same detector + same subject = same alert (idempotent runs)
    created_at      TIMESTAMP NOT NULL,
    source          VARCHAR NOT NULL,         -- model | rule | screening | realtime | art | tbml | crypto
    typology        VARCHAR,                  -- fan-in, structuring, sanctions-match, …
    vector          VARCHAR,                  -- drugs, financial-crime, art, cyber, kfr, mobile-money, npo, cell…
    title           VARCHAR NOT NULL,
    score           DOUBLE NOT NULL,          -- 0..1
    severity        VARCHAR NOT NULL,         -- low | medium | high | critical
    indicator_codes VARCHAR[],                -- goAML report indicator codes (SPOSI, SPOEQ, …)
    rule_ids        VARCHAR[],
    tx_ids          VARCHAR[],
    account_ids     VARCHAR[],
    party_ids       VARCHAR[],
    explanation     JSON,                     -- {"summary": str, "features": [...], "rules": [...], "patterns": [...], "matches": [...]}
    model_version   VARCHAR,
    event_ts        TIMESTAMP,                -- time of the activity the alert concerns
    status          VARCHAR NOT NULL DEFAULT 'new',   -- new | assigned | closed
    assignee        VARCHAR,
    disposition     VARCHAR,                  -- true_positive | false_positive | needs_information
    disposition_comment VARCHAR,
    case_id         VARCHAR
);

CREATE TABLE IF NOT EXISTS cases (
    case_id     VARCHAR PRIMARY KEY,
    title       VARCHAR NOT NULL,
    status      VARCHAR NOT NULL DEFAULT 'open', -- open | under_review | reported | closed
    created_at  TIMESTAMP NOT NULL,
    created_by  VARCHAR NOT NULL,
    assignee    VARCHAR,
    summary     VARCHAR
);

-- what a case holds: item_type in (party, account, transaction, alert)
CREATE TABLE IF NOT EXISTS case_items (
    case_id    VARCHAR NOT NULL,
    item_type  VARCHAR NOT NULL,
    item_id    VARCHAR NOT NULL,
    added_at   TIMESTAMP NOT NULL,
    added_by   VARCHAR NOT NULL,
    PRIMARY KEY (case_id, item_type, item_id)
);
