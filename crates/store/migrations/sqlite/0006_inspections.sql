-- civmap schema 6 (SQLite): mock inspections (模拟测评). Keep in step with
-- ../postgres/0006_inspections.sql.
--
-- Test points (测评点位) are the places an inspection scores; checklist items edited in the
-- console override the data file's by code; an inspection is a drawn sample assigned to one
-- inspector; each result is one item at one point, and a fail names the problem it created;
-- a rectification notice (整改通知单) is numbered per year, never reused.

CREATE TABLE test_points (
    id         BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    lon        REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    lat        REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    -- The zone the point stands for (a school's surroundings zone), if any.
    zone       BLOB,
    -- The street code of the zone containing the point ('' outside any coded zone).
    street     TEXT NOT NULL,
    -- The responsible unit (property company, school, market operator).
    owner      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (zone)
) STRICT, WITHOUT ROWID;

-- Items edited in the console: categories and kinds are JSON arrays of codes.
CREATE TABLE checklist_items (
    code       TEXT PRIMARY KEY NOT NULL,
    name_zh    TEXT NOT NULL,
    name_en    TEXT NOT NULL,
    kinds      TEXT NOT NULL,
    categories TEXT NOT NULL,
    weight     REAL NOT NULL CHECK (weight > 0)
) STRICT;

CREATE TABLE inspections (
    id          BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    name        TEXT NOT NULL,
    -- How the sample was drawn: JSON array of {"kind", "count"} (count null: every point).
    strata      TEXT NOT NULL,
    seed        INTEGER NOT NULL,
    -- The drawn sample: JSON array of test point ids, in walking order.
    sample      TEXT NOT NULL,
    assignee    BLOB REFERENCES users (id),
    status      TEXT NOT NULL CHECK (status IN ('open', 'done')),
    created_by  BLOB REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    finished_at INTEGER
) STRICT, WITHOUT ROWID;

CREATE TABLE inspection_results (
    inspection BLOB NOT NULL REFERENCES inspections (id),
    point      BLOB NOT NULL REFERENCES test_points (id),
    item       TEXT NOT NULL,
    pass       INTEGER NOT NULL CHECK (pass IN (0, 1)),
    -- The item's weight when it was scored (later edits do not rewrite history).
    weight     REAL NOT NULL CHECK (weight > 0),
    -- JSON array of photo ids.
    photos     TEXT NOT NULL,
    -- The problem a fail created.
    problem    BLOB REFERENCES problems (id),
    actor      BLOB REFERENCES users (id),
    at         INTEGER NOT NULL,
    PRIMARY KEY (inspection, point, item)
) STRICT, WITHOUT ROWID;
CREATE INDEX inspection_results_by_point ON inspection_results (point, at);

-- Numbers run per year ("整改通知 2026-0001"); rows are never deleted, so none is reused.
CREATE TABLE notices (
    id         BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    year       INTEGER NOT NULL,
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    problem    BLOB REFERENCES problems (id),
    point      BLOB REFERENCES test_points (id),
    unit       TEXT NOT NULL,
    place      TEXT NOT NULL,
    wrong      TEXT NOT NULL,
    -- JSON array of photo ids.
    photos     TEXT NOT NULL,
    deadline   INTEGER NOT NULL,
    issued_by  BLOB REFERENCES users (id),
    issued_at  INTEGER NOT NULL,
    UNIQUE (year, seq)
) STRICT;
CREATE INDEX notices_by_problem ON notices (problem);
