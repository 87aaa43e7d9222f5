-- civmap schema 2 (PostgreSQL): the basemap. Keep in step with ../sqlite/0002_basemap.sql.
--
-- OpenStreetMap features drawn beneath the problems (the vector tiles' layers `roads`,
-- `buildings`, `green`, `water`, `pois`), written by `civmap import osm` and by the demo, and
-- replaced as a whole on every import. Reference data, not campaign data: no events.
-- Geometries are RFC 7946 GeoJSON text (lon/lat, WGS-84) with their bounding box, like zones.
CREATE TABLE basemap (
    seq         BIGINT PRIMARY KEY CHECK (seq >= 0),
    layer       TEXT NOT NULL CHECK (layer IN ('roads', 'buildings', 'green', 'water', 'pois')),
    class       TEXT NOT NULL,
    name        TEXT,
    geometry    TEXT NOT NULL,
    min_lon     DOUBLE PRECISION NOT NULL,
    min_lat     DOUBLE PRECISION NOT NULL,
    max_lon     DOUBLE PRECISION NOT NULL,
    max_lat     DOUBLE PRECISION NOT NULL,
    external_id TEXT
);
