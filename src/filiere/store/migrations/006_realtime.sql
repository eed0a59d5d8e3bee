-- Real-time monitoring: every transaction the service acknowledged, in arrival order, with the
-- answer it gave. The transaction itself is also stored in `transactions` (source_file_id
-- 'realtime'). Rows are written by the service's log drain in one store transaction per batch,
-- so max(seq) is the log checkpoint: records of the write-ahead log above it are replayed on start.
CREATE TABLE IF NOT EXISTS realtime_tx (
    seq           BIGINT PRIMARY KEY,        -- arrival order (the write-ahead log's sequence number)
    tx_id         VARCHAR NOT NULL,          -- the id the feed sent
    ts            TIMESTAMP NOT NULL,        -- the transaction's time
    effective_ts  TIMESTAMP NOT NULL,        -- the time the streaming state used (never decreases)
    received_at   TIMESTAMP NOT NULL,
    score         DOUBLE,                    -- model probability (NULL when no model was loaded)
    decision      VARCHAR NOT NULL,          -- pass | alert | hold
    model_version VARCHAR,
    reasons       JSON,
    record        JSON NOT NULL              -- the normalised record as logged (party details included)
);
CREATE UNIQUE INDEX IF NOT EXISTS realtime_tx_id ON realtime_tx (tx_id);
