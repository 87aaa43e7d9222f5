-- civmap schema 6 (PostgreSQL): mock inspections (模拟测评). Keep in step with
-- ../sqlite/0006_inspections.sql.
--
-- Test points (测评点位) are the places an inspection scores; checklist items edited in the
-- console override the data file's by code; an inspection is a drawn sample assigned to one
-- inspector; each result is one item at one point, and a fail names the problem it created;
-- a rectification notice (整改通知单) is numbered per year, never reused.

CREATE TABLE test_points (
    id         UUID PRIMARY KEY,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    lon        DOUBLE PRECISION NOT NULL CHECK (lon BETWEEN -180 AND 180),
    lat        DOUBLE PRECISION NOT NULL CHECK (lat BETWEEN -90 AND 90),
    -- The zone the point stands for (a school's surroundings zone), if any.
    zone       UUID,
    -- The street code of the zone containing the point ('' outside any coded zone).
    street     TEXT NOT NULL,
    -- The responsible unit (property company, school, market operator).
    owner      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (zone)
);

-- Items edited in the console: categories and kinds are JSON arrays of codes.
CREATE TABLE checklist_items (
    code       TEXT PRIMARY KEY NOT NULL,
    name_zh    TEXT NOT NULL,
    name_en    TEXT NOT NULL,
    kinds      TEXT NOT NULL,
    categories TEXT NOT NULL,
    weight     DOUBLE PRECISION NOT NULL CHECK (weight > 0)
);

CREATE TABLE inspections (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    -- How the sample was drawn: JSON array of {"kind", "count"} (count null: every point).
    strata      TEXT NOT NULL,
    seed        BIGINT NOT NULL,
    -- The drawn sample: JSON array of test point ids, in walking order.
    sample      TEXT NOT NULL,
    assignee    UUID REFERENCES users (id),
    status      TEXT NOT NULL CHECK (status IN ('open', 'done')),
    created_by  UUID REFERENCES users (id),
    created_at  BIGINT NOT NULL,
    finished_at BIGINT
);

CREATE TABLE inspection_results (
    inspection UUID NOT NULL REFERENCES inspections (id),
    point      UUID NOT NULL REFERENCES test_points (id),
    item       TEXT NOT NULL,
    pass       BOOLEAN NOT NULL,
    -- The item's weight when it was scored (later edits do not rewrite history).
    weight     DOUBLE PRECISION NOT NULL CHECK (weight > 0),
    -- JSON array of photo ids.
    photos     TEXT NOT NULL,
    -- The problem a fail created.
    problem    UUID REFERENCES problems (id),
    actor      UUID REFERENCES users (id),
    at         BIGINT NOT NULL,
    PRIMARY KEY (inspection, point, item)
);
CREATE INDEX inspection_results_by_point ON inspection_results (point, at);

-- Numbers run per year ("整改通知 2026-0001"); rows are never deleted, so none is reused.
CREATE TABLE notices (
    id         UUID PRIMARY KEY,
    year       BIGINT NOT NULL,
    seq        BIGINT NOT NULL CHECK (seq >= 1),
    problem    UUID REFERENCES problems (id),
    point      UUID REFERENCES test_points (id),
    unit       TEXT NOT NULL,
    place      TEXT NOT NULL,
    wrong      TEXT NOT NULL,
    -- JSON array of photo ids.
    photos     TEXT NOT NULL,
    deadline   BIGINT NOT NULL,
    issued_by  UUID REFERENCES users (id),
    issued_at  BIGINT NOT NULL,
    UNIQUE (year, seq)
);
CREATE INDEX notices_by_problem ON notices (problem);
