-- civmap schema 1 (SQLite). Keep in step with ../postgres/0001_init.sql: the two backends hold the
-- same tables and columns so one backup format (a SQLite file) restores into either.
--
-- Conventions: ids are UUIDs (16-byte BLOBs here, UUID in PostgreSQL); times are Unix
-- milliseconds (UTC); coordinates are WGS-84 degrees, longitude first; geometries are RFC 7946
-- GeoJSON text with a bounding box beside them.

-- "civm" in the file header, so `file` and our own start-up check can tell a civmap database.
PRAGMA application_id = 1667855981;

CREATE TABLE civmap_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
INSERT INTO civmap_meta (key, value) VALUES ('application', 'civmap');

CREATE TABLE users (
    id            BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    name          TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'street_office', 'area_chief', 'road_chief',
                                                'point_chief', 'reporter', 'public')),
    street        TEXT,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL
) STRICT;

-- Only hashes of session cookies and API tokens are stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id),
    kind       TEXT NOT NULL CHECK (kind IN ('cookie', 'api_token')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked    INTEGER NOT NULL CHECK (revoked IN (0, 1))
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE categories (
    code            TEXT PRIMARY KEY NOT NULL,
    name_zh         TEXT NOT NULL,
    name_en         TEXT NOT NULL,
    weight          REAL NOT NULL,
    deadline_hours  INTEGER NOT NULL CHECK (deadline_hours >= 0),
    service_minutes INTEGER NOT NULL CHECK (service_minutes >= 0),
    indoor          INTEGER NOT NULL CHECK (indoor IN (0, 1))
) STRICT;

-- Photo metadata; the bytes live on disk at <photo_dir>/<id[0..2]>/<id>, named by their sha256.
CREATE TABLE photos (
    id         TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 64),
    mime       TEXT NOT NULL,
    width      INTEGER NOT NULL CHECK (width >= 0),
    height     INTEGER NOT NULL CHECK (height >= 0),
    bytes      INTEGER NOT NULL CHECK (bytes >= 0),
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE zones (
    id          BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    kind        TEXT NOT NULL CHECK (kind IN ('point', 'road', 'area', 'surroundings', 'grid_cell')),
    name        TEXT NOT NULL,
    poi_kind    TEXT CHECK (poi_kind IN ('school', 'park', 'market')),
    poi         BLOB,
    code        TEXT,
    geometry    TEXT NOT NULL,
    min_lon     REAL NOT NULL,
    min_lat     REAL NOT NULL,
    max_lon     REAL NOT NULL,
    max_lat     REAL NOT NULL,
    external_id TEXT UNIQUE
) STRICT;

CREATE TABLE pois (
    id          BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    kind        TEXT NOT NULL CHECK (kind IN ('school', 'park', 'market')),
    name        TEXT NOT NULL,
    geometry    TEXT NOT NULL,
    min_lon     REAL NOT NULL,
    min_lat     REAL NOT NULL,
    max_lon     REAL NOT NULL,
    max_lat     REAL NOT NULL,
    external_id TEXT UNIQUE
) STRICT;

CREATE TABLE zone_assignments (
    zone_id BLOB NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    user_id BLOB NOT NULL REFERENCES users (id),
    PRIMARY KEY (zone_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX zone_assignments_by_user ON zone_assignments (user_id);

-- Problems are clustered by their UUIDv7 id, i.e. by creation time: inserts append, the start-up
-- scan reads the file in order.
CREATE TABLE problems (
    id            BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    lon           REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    lat           REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    category      TEXT NOT NULL,
    severity      TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    status        TEXT NOT NULL CHECK (status IN ('reported', 'dispatched', 'escalated', 'rectified',
                                                  'closed', 'recurred', 'merged')),
    description   TEXT NOT NULL,
    reported_at   INTEGER NOT NULL,
    reporter      BLOB REFERENCES users (id),
    updated_at    INTEGER NOT NULL,
    deadline      INTEGER,
    assignee      BLOB REFERENCES users (id),
    zone          BLOB,
    rework_count  INTEGER NOT NULL CHECK (rework_count >= 0),
    recurrence_of BLOB,
    merged_into   BLOB,
    version       INTEGER NOT NULL CHECK (version >= 1),
    -- Where an imported problem came from; (source, external_id) makes re-imports idempotent.
    source        TEXT,
    external_id   TEXT,
    UNIQUE (source, external_id)
) STRICT, WITHOUT ROWID;

-- The rectification ledger (整改台账) and audit trail: one row per change to a problem, written in
-- the same transaction as the change. Append-only: the triggers below refuse UPDATE and DELETE.
CREATE TABLE events (
    seq     INTEGER PRIMARY KEY NOT NULL,
    problem BLOB NOT NULL REFERENCES problems (id),
    kind    TEXT NOT NULL CHECK (kind IN ('created', 'dispatched', 'escalated', 'rectified', 'rejected',
                                          'verified', 'recurred', 'merged', 'edited', 'reinspected')),
    actor   BLOB REFERENCES users (id),
    at      INTEGER NOT NULL,
    note    TEXT NOT NULL,
    -- JSON array of photo ids (evidence).
    photos  TEXT NOT NULL,
    -- JSON object with structured details.
    data    TEXT NOT NULL
) STRICT;
CREATE INDEX events_by_problem ON events (problem);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only: UPDATE on events is not allowed');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only: DELETE on events is not allowed');
END;
