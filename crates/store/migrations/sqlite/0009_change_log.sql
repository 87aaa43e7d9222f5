-- civmap schema 9 (SQLite): the change log of what is not a problem's ledger.
-- Keep in step with ../postgres/0009_change_log.sql, which says why it exists.
CREATE TABLE changes (
    seq  INTEGER PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('zone', 'poi', 'assignment', 'user', 'session',
                                       'user_sessions', 'category', 'restored')),
    key  TEXT NOT NULL,
    at   INTEGER NOT NULL
) STRICT;
CREATE INDEX changes_by_at ON changes (at);
