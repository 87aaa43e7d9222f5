-- civmap schema 11 (SQLite): hot and cold problems. Keep in step with ../postgres/0011_cold.sql.
--
-- Memory holds the hot set only: open problems, and closed or merged ones last changed within the
-- window (`[memory] hot_days`). The rest (cold) stays here and is read on request: by id, by case
-- number, a zone's ledger, a past period's assessment, items with a date range in the past.
--
-- problems_by_status_updated: the start-up read of the hot set ("status open, or closed/merged
--   and updated_at >= T") and the cold set ("closed/merged and updated_at < T") are ranges of it,
--   never a scan of the whole table. In a WITHOUT ROWID table the index carries the id too, so
--   (status, updated_at, id) is its order and the start-up read pages through it by key.
-- problems_by_deadline: an assessment counts the problems due in its period, cold ones included.
-- problems_rtree: the positions of every problem in an R*Tree (compiled into the bundled SQLite),
--   for the spatial reads of cold problems (a zone's ledger, a box with a past date range).
--   R*Tree rows are keyed by an integer; problems by a UUID, so problem_rowids numbers them. The
--   triggers keep both in step with every insert, move and delete of a problem, whoever writes.
--   The R*Tree keeps 32-bit floats rounded outwards: it is a filter, the exact test is in Rust.
CREATE INDEX problems_by_status_updated ON problems (status, updated_at);
CREATE INDEX problems_by_deadline ON problems (deadline);

CREATE TABLE problem_rowids (
    rid     INTEGER PRIMARY KEY NOT NULL,
    problem BLOB NOT NULL UNIQUE
) STRICT;

CREATE VIRTUAL TABLE problems_rtree USING rtree (rid, min_lon, max_lon, min_lat, max_lat);

INSERT INTO problem_rowids (problem) SELECT id FROM problems ORDER BY id;
INSERT INTO problems_rtree (rid, min_lon, max_lon, min_lat, max_lat)
SELECT r.rid, p.lon, p.lon, p.lat, p.lat FROM problem_rowids r JOIN problems p ON p.id = r.problem;

CREATE TRIGGER problems_rtree_insert AFTER INSERT ON problems
BEGIN
    INSERT INTO problem_rowids (problem) VALUES (new.id);
    INSERT INTO problems_rtree (rid, min_lon, max_lon, min_lat, max_lat)
    VALUES ((SELECT rid FROM problem_rowids WHERE problem = new.id),
            new.lon, new.lon, new.lat, new.lat);
END;

CREATE TRIGGER problems_rtree_move AFTER UPDATE OF lon, lat ON problems
BEGIN
    UPDATE problems_rtree
    SET min_lon = new.lon, max_lon = new.lon, min_lat = new.lat, max_lat = new.lat
    WHERE rid = (SELECT rid FROM problem_rowids WHERE problem = new.id);
END;

CREATE TRIGGER problems_rtree_delete AFTER DELETE ON problems
BEGIN
    DELETE FROM problems_rtree WHERE rid = (SELECT rid FROM problem_rowids WHERE problem = old.id);
    DELETE FROM problem_rowids WHERE problem = old.id;
END;
