-- Detection models: the registry of trained versions. The artefacts live in <workspace>/models/<version>/;
-- <workspace>/models/current.json names the current one for processes that do not open the store.
CREATE TABLE IF NOT EXISTS detection_models (
    version       VARCHAR PRIMARY KEY,
    created_at    TIMESTAMP NOT NULL,
    path          VARCHAR,
    is_current    BOOLEAN NOT NULL DEFAULT FALSE,
    threshold     DOUBLE NOT NULL,
    feature_names VARCHAR[],
    fingerprint   JSON,                     -- rows, time span and content hash of the training data
    metrics       JSON,                     -- validation metrics
    config        JSON                      -- training configuration and rule library fingerprint
);

-- Scores of the last detection run per model version: transaction level and account level
-- (an account's score is the highest of the transactions it sent or received).
CREATE TABLE IF NOT EXISTS detection_scores (
    tx_id         VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    score         DOUBLE NOT NULL,
    PRIMARY KEY (tx_id, model_version)
);

CREATE TABLE IF NOT EXISTS account_scores (
    account_id    VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    score         DOUBLE NOT NULL,
    transactions  BIGINT NOT NULL,
    PRIMARY KEY (account_id, model_version)
);
