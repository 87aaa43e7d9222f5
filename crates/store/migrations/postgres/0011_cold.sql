-- civmap schema 11 (PostgreSQL): hot and cold problems. Keep in step with ../sqlite/0011_cold.sql,
-- which says what each index is for.
--
-- The spatial reads of cold problems use a plain (lon, lat) B-tree: PostGIS is not required by
-- civmap (CREATE EXTENSION needs it installed), and a box over a street's few square kilometres
-- is a narrow longitude range whose latitude is checked from the same index entries. Where
-- PostGIS is installed, a GiST index on ST_MakePoint(lon, lat) may be added by hand; civmap's
-- queries do not depend on it.
CREATE INDEX problems_by_status_updated ON problems (status, updated_at);
CREATE INDEX problems_by_deadline ON problems (deadline);
CREATE INDEX problems_by_lon_lat ON problems (lon, lat);
