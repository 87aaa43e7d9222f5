-- civmap schema 10 (PostgreSQL): patrols (巡查) and check-ins. Keep in step with
-- ../sqlite/0010_patrols.sql.
--
-- A patrol is a chief's walk: who, when, and the track its phone recorded. The track arrives in
-- chunks (the phone sends what it recorded every few minutes and at the end), one row each,
-- numbered in the writer's transaction: an append never rewrites what is stored.
--   points: JSON array of [lon, lat, t_ms, accuracy_m] in time order (WGS-84, ms since the epoch)
-- A check-in is a zone marked "checked, clean" (已检查，无问题), during a patrol or without one
-- (from a point code). Staff-only data: the public never reads these tables.

CREATE TABLE patrols (
    id         UUID PRIMARY KEY,
    chief      UUID NOT NULL REFERENCES users (id),
    -- The chief's street code when it started ('' for none): its street office sees it.
    street     TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at   BIGINT
);
CREATE INDEX patrols_by_start ON patrols (started_at);

CREATE TABLE patrol_tracks (
    patrol UUID NOT NULL REFERENCES patrols (id),
    seq    BIGINT NOT NULL CHECK (seq >= 1),
    points TEXT NOT NULL,
    PRIMARY KEY (patrol, seq)
);

CREATE TABLE check_ins (
    id     UUID PRIMARY KEY,
    zone   UUID NOT NULL,
    patrol UUID REFERENCES patrols (id),
    chief  UUID NOT NULL REFERENCES users (id),
    at     BIGINT NOT NULL,
    lon    DOUBLE PRECISION CHECK (lon BETWEEN -180 AND 180),
    lat    DOUBLE PRECISION CHECK (lat BETWEEN -90 AND 90),
    -- JSON array of photo ids.
    photos TEXT NOT NULL,
    note   TEXT NOT NULL
);
CREATE INDEX check_ins_by_at ON check_ins (at);
