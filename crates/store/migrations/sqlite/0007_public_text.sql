-- civmap schema 7 (SQLite): what the public reads instead of a problem's description. Keep in
-- step with ../postgres/0007_public_text.sql.
--
-- The street office may hide a description from the public or give it a public wording (the
-- reporter wrote a neighbour's name, a quarrel, an address inside a home). The problem's own
-- description stays as written and staff keep reading it; public outputs (REST, OGC, Open311,
-- the public history) read this row instead. A separate table, not a column of `problems`, so
-- the problem row and its codec stay as they are; few problems have a row here, and civmap
-- keeps them all in memory. Each change is also an `edited` event with data
-- {"public_description", "hidden"}.
--   text:       the public wording ('' when hidden)
--   hidden:     1: the public sees that the description is hidden, not a wording
--   updated_at: Unix ms of the last change; updated_by: the office account that made it
CREATE TABLE public_texts (
    problem    BLOB PRIMARY KEY NOT NULL REFERENCES problems (id) CHECK (length(problem) = 16),
    text       TEXT NOT NULL,
    hidden     INTEGER NOT NULL CHECK (hidden IN (0, 1)),
    updated_at INTEGER NOT NULL,
    updated_by BLOB REFERENCES users (id)
) STRICT;
