-- civmap schema 7 (PostgreSQL): what the public reads instead of a problem's description. Keep
-- in step with ../sqlite/0007_public_text.sql.
--
-- The street office may hide a description from the public or give it a public wording (the
-- reporter wrote a neighbour's name, a quarrel, an address inside a home). The problem's own
-- description stays as written and staff keep reading it; public outputs (REST, OGC, Open311,
-- the public history) read this row instead. A separate table, not a column of `problems`, so
-- the problem row and its codec stay as they are; few problems have a row here, and civmap
-- keeps them all in memory. Each change is also an `edited` event with data
-- {"public_description", "hidden"}.
--   text:       the public wording ('' when hidden)
--   hidden:     the public sees that the description is hidden, not a wording
--   updated_at: Unix ms of the last change; updated_by: the office account that made it
CREATE TABLE public_texts (
    problem    UUID PRIMARY KEY REFERENCES problems (id),
    text       TEXT NOT NULL,
    hidden     BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by UUID REFERENCES users (id)
);
