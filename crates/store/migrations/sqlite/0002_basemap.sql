-- civmap schema 2 (SQLite): the basemap. Keep in step with ../postgres/0002_basemap.sql.
--
-- OpenStreetMap features drawn beneath the problems (the vector tiles' layers `roads`,
-- `buildings`, `green`, `water`, `pois`), written by `civmap import osm` and by the demo, and
-- replaced as a whole on every import. Reference data, not campaign data: no events.
-- Geometries are RFC 7946 GeoJSON text (lon/lat, WGS-84) with their bounding box, like zones.
CREATE TABLE basemap (
    seq         INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 0),
    layer       TEXT NOT NULL CHECK (layer IN ('roads', 'buildings', 'green', 'water', 'pois')),
    class       TEXT NOT NULL,
    name        TEXT,
    geometry    TEXT NOT NULL,
    min_lon     REAL NOT NULL,
    min_lat     REAL NOT NULL,
    max_lon     REAL NOT NULL,
    max_lat     REAL NOT NULL,
    external_id TEXT
) STRICT;
