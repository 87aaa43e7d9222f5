-- civmap schema 5 (SQLite): case numbers and places; two more event kinds.
-- Keep in step with ../postgres/0005_case_numbers.sql.
--
-- case_no: the number people read out and type, 'CM' + the report's day in China Standard Time
--          (yyMMdd) + '-' + the day's sequence (at least 4 digits): CM261207-0003. Written once,
--          when the problem is first stored, from case_counters in the same transaction; unique
--          and never given twice (a failed write leaves a gap, never a reuse).
-- place:   where it is in words, from the OpenStreetMap data at report time ('四平路1239号附近');
--          '' when nothing named is near.
ALTER TABLE problems ADD COLUMN case_no TEXT;
ALTER TABLE problems ADD COLUMN place TEXT NOT NULL DEFAULT '';

-- Problems stored before this schema are numbered in report order within their day.
WITH numbered AS (
    SELECT id,
           strftime('%y%m%d', reported_at / 1000, 'unixepoch', '+8 hours') AS day,
           row_number() OVER (
               PARTITION BY strftime('%y%m%d', reported_at / 1000, 'unixepoch', '+8 hours')
               ORDER BY reported_at, id) AS n
    FROM problems
)
UPDATE problems SET case_no = 'CM' || numbered.day || '-' || printf('%04d', numbered.n)
FROM numbered WHERE problems.id = numbered.id;

CREATE UNIQUE INDEX problems_by_case_no ON problems (case_no);

-- The last sequence given per day (day = yyMMdd as a number).
CREATE TABLE case_counters (
    day  INTEGER PRIMARY KEY NOT NULL CHECK (day BETWEEN 0 AND 991231),
    last INTEGER NOT NULL CHECK (last >= 0)
) STRICT;
INSERT INTO case_counters (day, last)
SELECT CAST(substr(case_no, 3, 6) AS INTEGER), max(CAST(substr(case_no, 10) AS INTEGER))
FROM problems GROUP BY substr(case_no, 3, 6);

-- The event kinds 'feedback' (the reporter's answer after verification, 回访) and 'notice' (a
-- rectification notice issued, 整改通知单). SQLite cannot alter a CHECK, so the log is copied into
-- a table with the new one (dropping a table fires no DELETE trigger), and its indexes and
-- append-only triggers are made again.
CREATE TABLE events_v5 (
    seq     INTEGER PRIMARY KEY NOT NULL,
    problem BLOB NOT NULL REFERENCES problems (id),
    kind    TEXT NOT NULL CHECK (kind IN ('created', 'dispatched', 'escalated', 'rectified', 'rejected',
                                          'verified', 'recurred', 'merged', 'edited', 'reinspected',
                                          'feedback', 'notice')),
    actor   BLOB REFERENCES users (id),
    at      INTEGER NOT NULL,
    note    TEXT NOT NULL,
    -- JSON array of photo ids (evidence).
    photos  TEXT NOT NULL,
    -- JSON object with structured details.
    data    TEXT NOT NULL
) STRICT;
INSERT INTO events_v5 (seq, problem, kind, actor, at, note, photos, data)
SELECT seq, problem, kind, actor, at, note, photos, data FROM events;
DROP TABLE events;
ALTER TABLE events_v5 RENAME TO events;
CREATE INDEX events_by_problem ON events (problem);
CREATE INDEX events_by_kind_at ON events (kind, at);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only: UPDATE on events is not allowed');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only: DELETE on events is not allowed');
END;
