-- civmap schema 4 (PostgreSQL): the road graph's ways. Keep in step with ../sqlite/0004_roads.sql.
--
-- The OpenStreetMap ways routes are planned on (every way with a `highway` tag), written by
-- `civmap import osm` and read by `civmap serve` at start to build its walking, cycling and
-- driving graphs; replaced as a whole on every import. Reference data, like the basemap.
-- A way whose nodes are not all in the extract is kept as its runs of known nodes, one row each
-- (`way_id` repeats; `seq` orders them).
--   tags:  JSON object of the way's tags, e.g. {"highway":"residential","oneway":"yes"}
--   nodes: JSON array of [node id, lon, lat] in way order (WGS-84), at least two
CREATE TABLE road_ways (
    seq     BIGINT PRIMARY KEY CHECK (seq >= 0),
    way_id  BIGINT NOT NULL,
    tags    TEXT NOT NULL,
    nodes   TEXT NOT NULL
);
