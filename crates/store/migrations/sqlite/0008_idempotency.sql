-- civmap schema 8 (SQLite): the answers to writes sent with an `Idempotency-Key` header (IETF
-- draft-ietf-httpapi-idempotency-key-header). Keep in step with ../postgres/0008_idempotency.sql.
--
-- A phone that lost its signal sends its queued report again when it is back; the second send
-- must get the first answer, not make a second problem. A row is claimed (status NULL) before
-- the write runs and completed with the answer after it; a claim whose write failed on the
-- server's side is deleted so that the client may try again. Rows older than the retention
-- (civmap-app `idempotency::RETENTION`) are deleted lazily when a key is claimed.
--   caller:      whose key it is ("user:<uuid>", "token:<hash prefix>", "addr:<ip>"): keys of
--                different callers never collide
--   key:         the client's key, at most 255 characters
--   request:     "METHOD /path" the key was first sent with
--   fingerprint: SHA-256 of the request body (hex): the same key with another body is refused
--   status:      the answer's HTTP status; NULL while the write is in progress
--   body:        the answer's body (JSON); NULL while in progress
--   created_at:  Unix ms of the claim
CREATE TABLE idempotency_keys (
    caller      TEXT NOT NULL,
    key         TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request     TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER,
    body        TEXT,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (caller, key)
) STRICT;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
