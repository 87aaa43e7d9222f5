-- PostGIS side of tests/bench/tiles.sh: the benchmark's points, and a tile function for martin
-- that makes the same tiles as civmap's /tiles/problems (psql -f tiles_postgis.sql < problems.csv).
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE UNLOGGED TABLE problems_csv (
    key text, lon double precision, lat double precision, category text, created text, text text
);
\copy problems_csv FROM pstdin WITH (FORMAT csv, HEADER true)

-- Web Mercator, as tiles are cut; a GiST index for the tile envelope queries.
CREATE TABLE problems AS
SELECT key AS id, category, 'reported'::text AS status, 2::int AS severity,
       ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4326), 3857) AS geom
FROM problems_csv;
DROP TABLE problems_csv;
CREATE INDEX problems_geom ON problems USING gist (geom);
VACUUM ANALYZE problems;

-- From z14 one point per problem with its public fields (and its id from z16), in the tile and
-- its 64-unit buffer; below, the points counted in 16 x 16 cells per tile with count, top
-- category and its count, at the mean position: what civmap serves (civmap also generalises
-- indoor categories to their 50 m cell).
CREATE OR REPLACE FUNCTION civmap_problems(z integer, x integer, y integer)
RETURNS bytea AS $$
DECLARE
    env geometry := ST_TileEnvelope(z, x, y);
    cell double precision := (ST_XMax(ST_TileEnvelope(z, x, y)) - ST_XMin(ST_TileEnvelope(z, x, y))) / 16;
    mvt bytea;
BEGIN
    IF z < 8 THEN
        RETURN ''::bytea;
    END IF;
    IF z >= 16 THEN
        SELECT ST_AsMVT(q, 'problems', 4096, 'geom') INTO mvt FROM (
            SELECT id, category, status, severity,
                   ST_AsMVTGeom(geom, env, 4096, 64, true) AS geom
            FROM problems
            WHERE geom && ST_TileEnvelope(z, x, y, margin => 64.0 / 4096)
        ) q;
    ELSIF z >= 14 THEN
        SELECT ST_AsMVT(q, 'problems', 4096, 'geom') INTO mvt FROM (
            SELECT category, status, severity,
                   ST_AsMVTGeom(geom, env, 4096, 64, true) AS geom
            FROM problems
            WHERE geom && ST_TileEnvelope(z, x, y, margin => 64.0 / 4096)
        ) q;
    ELSE
        SELECT ST_AsMVT(q, 'problems', 4096, 'geom') INTO mvt FROM (
            SELECT sum(n)::bigint AS count,
                   (array_agg(category ORDER BY n DESC, category))[1] AS top_category,
                   max(n)::bigint AS top_count,
                   ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(sum(sx) / sum(n), sum(sy) / sum(n)), 3857),
                                env, 4096, 64, true) AS geom
            FROM (
                SELECT floor((ST_X(geom) - ST_XMin(env)) / cell) AS cx,
                       floor((ST_YMax(env) - ST_Y(geom)) / cell) AS cy,
                       category, count(*) AS n, sum(ST_X(geom)) AS sx, sum(ST_Y(geom)) AS sy
                FROM problems
                WHERE geom && env
                GROUP BY 1, 2, 3
            ) cats
            WHERE cx BETWEEN 0 AND 15 AND cy BETWEEN 0 AND 15
            GROUP BY cx, cy
        ) q;
    END IF;
    RETURN mvt;
END
$$ LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE;
