-- Users, API tokens, UI sessions and the append-only, hash-chained audit log.
-- Secrets are never stored: passwords as argon2id hashes, tokens and session ids as sha256 digests
-- of 256-bit random values (fast to check on every request, useless if the table leaks).
CREATE TABLE IF NOT EXISTS users (
    username      VARCHAR PRIMARY KEY,
    password_hash VARCHAR,                 -- argon2id; NULL for machine users that only use tokens
    role          VARCHAR NOT NULL,        -- analyst | supervisor | auditor | admin | machine
    display_name  VARCHAR,
    created_at    TIMESTAMP NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE IF NOT EXISTS api_tokens (
    token_id    VARCHAR PRIMARY KEY,       -- public part of the token (shown in listings)
    token_hash  VARCHAR NOT NULL,          -- sha256 hex of the whole token
    username    VARCHAR NOT NULL,
    role        VARCHAR NOT NULL,          -- may be narrower than the user's role
    label       VARCHAR,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP,
    revoked_at  TIMESTAMP,
    last_used_at TIMESTAMP
);

CREATE TABLE IF NOT EXISTS sessions (
    session_hash VARCHAR PRIMARY KEY,      -- sha256 hex of the cookie value
    username     VARCHAR NOT NULL,
    csrf_token   VARCHAR NOT NULL,         -- sent back in X-CSRF-Token on state-changing UI requests
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL
);

-- Append-only: the repository (filiere.cases.audit) only ever INSERTs. Each row's hash covers its
-- content and the previous row's hash, so an edited or deleted row breaks the chain.
CREATE TABLE IF NOT EXISTS audit_log (
    seq          BIGINT PRIMARY KEY,       -- 1, 2, 3… without gaps
    ts           TIMESTAMP NOT NULL,
    username     VARCHAR NOT NULL,
    role         VARCHAR,
    action       VARCHAR NOT NULL,         -- alert.view, alert.disposition, case.status, party.view…
    object_type  VARCHAR,
    object_id    VARCHAR,
    before       JSON,
    after        JSON,
    detail       JSON,
    prev_hash    VARCHAR NOT NULL,
    hash         VARCHAR NOT NULL
);

-- Notes and attachments of cases (added here, beside the audit log, as 003 is shared by detectors).
CREATE TABLE IF NOT EXISTS case_notes (
    note_id     VARCHAR PRIMARY KEY,
    case_id     VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    author      VARCHAR NOT NULL,
    body        VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS case_attachments (
    attachment_id VARCHAR PRIMARY KEY,
    case_id     VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    author      VARCHAR NOT NULL,
    filename    VARCHAR NOT NULL,
    media_type  VARCHAR,
    size_bytes  BIGINT NOT NULL,
    sha256      VARCHAR NOT NULL,
    content     BLOB NOT NULL
);
