-- civmap schema 9 (PostgreSQL): the change log of what is not a problem's ledger.
-- Keep in step with ../sqlite/0009_change_log.sql.
--
-- Replicas follow the database by reading what was committed after the last number they applied.
-- Problems have their ledger (`events`); zones, points of interest, assignments, accounts,
-- sessions and categories had nothing: a replica could not learn that another one signed a
-- chief in or drew a zone. Why a table of its own and not more event kinds: `events` is a
-- problem's rectification ledger (its `problem` is required, people read it as the history of a
-- case, assessments count it); a session or a zone is no case's history.
--
-- One row per committed write of such a row, in the same transaction, numbered by the writer
-- under the same write lock as `events` (so `seq` order is commit order here too). `key` names
-- the row: a zone, point-of-interest or user id, a zone id for an assignment, a session's token
-- hash, a category code; '' for a restore (everything changed). A follower re-reads that row.
CREATE TABLE changes (
    seq  BIGINT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('zone', 'poi', 'assignment', 'user', 'session',
                                       'user_sessions', 'category', 'restored')),
    key  TEXT NOT NULL,
    -- When it was committed, Unix milliseconds (UTC): what archiving the log prunes by.
    at   BIGINT NOT NULL
);
CREATE INDEX changes_by_at ON changes (at);
