-- civmap schema 10 (SQLite): patrols (巡查) and check-ins. Keep in step with
-- ../postgres/0010_patrols.sql.
--
-- A patrol is a chief's walk: who, when, and the track its phone recorded. The track arrives in
-- chunks (the phone sends what it recorded every few minutes and at the end), one row each,
-- numbered in the writer's transaction: an append never rewrites what is stored.
--   points: JSON array of [lon, lat, t_ms, accuracy_m] in time order (WGS-84, ms since the epoch)
-- A check-in is a zone marked "checked, clean" (已检查，无问题), during a patrol or without one
-- (from a point code). Staff-only data: the public never reads these tables.

CREATE TABLE patrols (
    id         BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    chief      BLOB NOT NULL REFERENCES users (id),
    -- The chief's street code when it started ('' for none): its street office sees it.
    street     TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX patrols_by_start ON patrols (started_at);

CREATE TABLE patrol_tracks (
    patrol BLOB NOT NULL REFERENCES patrols (id),
    seq    INTEGER NOT NULL CHECK (seq >= 1),
    points TEXT NOT NULL,
    PRIMARY KEY (patrol, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE check_ins (
    id     BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    zone   BLOB NOT NULL,
    patrol BLOB REFERENCES patrols (id),
    chief  BLOB NOT NULL REFERENCES users (id),
    at     INTEGER NOT NULL,
    lon    REAL CHECK (lon BETWEEN -180 AND 180),
    lat    REAL CHECK (lat BETWEEN -90 AND 90),
    -- JSON array of photo ids.
    photos TEXT NOT NULL,
    note   TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX check_ins_by_at ON check_ins (at);
