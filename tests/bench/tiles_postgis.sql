-- PostGIS side of tests/bench/tiles.sh (psql -f tiles_postgis.sql < problems.csv): the
-- benchmark's points and two tile functions for martin that make the tiles civmap's
-- /tiles/problems makes (issue 19: the same job on both sides):
--
--   civmap_problems_live     z10-13: 16 x 16 clusters per tile computed per request from the
--                            points with ST_SnapToGrid; z14-16: the points.
--   civmap_problems_pyramid  z10-13: the clusters read from problem_cells, a cell table built
--                            once after loading, as civmap reads its count pyramid; z14-16: the
--                            same points as the live function.
--
-- What civmap serves (crates/app/src/tiles/encode.rs), and so what both functions return, in
-- one MVT layer `problems`, extent 4096, buffer 64:
-- * z14-15: one point per problem with `category`, `status`, `severity`; z16 also `id` (the
--   UUID text) and a feature id; every point within the tile and its 64-unit buffer. (tiles.sh
--   loads the file with the ids civmap gave the problems on import in its key column.)
-- * z10-13: one point per non-empty cell of the tile's 16 x 16 grid (a cell is 256 of the 4096
--   units, the cells of world level z + 4), at the mean position of the cell's points, with
--   `count`, `top_category` (the largest count; ties to the category civmap lists first),
--   `top_count`, and the global cell number gy * 2^(z+4) + gx as feature id. Only the tile's
--   own points are counted (not its buffer).
-- * Problems of indoor categories are at the centre of their 50 m cell in points and clusters
--   (crates/app/src/privacy: 50 m north-south, 50 m east-west at the cell's centre latitude).
--   civmap generalises per request; here the public position is computed once, at load.
--
-- Two differences, both in martin's favour or neutral: PostgreSQL has no unsigned bigint, so
-- the z16 feature id is the low 63 bits of the UUID (civmap: the low 64 bits), and ST_AsMVT
-- writes values in its own order (the same features and properties; tiles.sh checks them).
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE UNLOGGED TABLE problems_csv (
    key text, lon double precision, lat double precision, category text, created text, text text
);
\copy problems_csv FROM pstdin WITH (FORMAT csv, HEADER true)

-- civmap's built-in categories in their table order (crates/domain/src/category.rs), which
-- breaks ties of the top category, and whether each is indoor.
CREATE TABLE categories (code text PRIMARY KEY, ord int NOT NULL, indoor bool NOT NULL);
INSERT INTO categories VALUES
    ('stairwell_clutter', 1, true), ('clutter', 2, false), ('illegal_parking', 3, false),
    ('misparked_bikes', 4, false), ('zombie_car', 5, false), ('abandoned_bikes', 6, false),
    ('ad_posters', 7, false), ('flying_wire_charging', 8, true), ('garbage', 9, false),
    ('greenbelt_litter', 10, false), ('illegal_construction', 11, false),
    ('street_vending', 12, false), ('dog_nuisance', 13, false), ('blocked_fire_lane', 14, false),
    ('illegal_billboard', 15, false);

-- The public position: indoor categories at the centre of their 50 m cell (privacy::
-- generalise_position, with civmap's metres per degree of the mean Earth radius).
CREATE FUNCTION civmap_generalise(lon double precision, lat double precision)
RETURNS geometry AS $$
    SELECT ST_MakePoint(
        (floor(lon / d.dlon) + 0.5) * d.dlon, d.clat)
    FROM (
        SELECT c.clat, 50.0 / (6371008.8 * pi() / 180.0 * greatest(cos(radians(c.clat)), 1e-6)) AS dlon
        FROM (SELECT (floor(lat / (50.0 / (6371008.8 * pi() / 180.0))) + 0.5)
                     * (50.0 / (6371008.8 * pi() / 180.0)) AS clat) c
    ) d
$$ LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE;

-- Web Mercator, as tiles are cut; a GiST index for the tile envelope queries. Every imported
-- problem is `reported` with severity 2 (checked against civmap's tiles by tiles.sh).
CREATE TABLE problems AS
SELECT p.key AS id,
       -- the low 63 bits of the UUID (the feature id of z16 points)
       (('x' || right(replace(p.key, '-', ''), 16))::bit(64)::bigint & 9223372036854775807) AS fid,
       p.category, c.ord, 'reported'::text AS status, 2::int AS severity,
       ST_Transform(ST_SetSRID(
           CASE WHEN c.indoor THEN civmap_generalise(p.lon, p.lat) ELSE ST_MakePoint(p.lon, p.lat) END,
           4326), 3857) AS geom
FROM problems_csv p JOIN categories c ON c.code = p.category;
DROP TABLE problems_csv;
CREATE INDEX problems_geom ON problems USING gist (geom);
CLUSTER problems USING problems_geom;
VACUUM ANALYZE problems;

-- The point tiles, shared by both functions (z14 and up).
-- `&&` compares the index's single-precision boxes, which admits points up to a fraction of a
-- unit outside the buffer; the exact box test keeps those out, as civmap does.
CREATE FUNCTION civmap_problem_points(z integer, x integer, y integer)
RETURNS bytea AS $$
DECLARE
    env geometry := ST_TileEnvelope(z, x, y);
    benv geometry := ST_TileEnvelope(z, x, y, margin => 64.0 / 4096);
    x0 double precision := ST_XMin(benv);
    x1 double precision := ST_XMax(benv);
    y0 double precision := ST_YMin(benv);
    y1 double precision := ST_YMax(benv);
    mvt bytea;
BEGIN
    IF z >= 16 THEN
        SELECT ST_AsMVT(q, 'problems', 4096, 'geom', 'fid') INTO mvt FROM (
            SELECT fid, id, category, status, severity,
                   ST_AsMVTGeom(geom, env, 4096, 64, true) AS geom
            FROM problems
            WHERE geom && benv AND ST_X(geom) BETWEEN x0 AND x1 AND ST_Y(geom) BETWEEN y0 AND y1
        ) q;
    ELSE
        SELECT ST_AsMVT(q, 'problems', 4096, 'geom') INTO mvt FROM (
            SELECT category, status, severity,
                   ST_AsMVTGeom(geom, env, 4096, 64, true) AS geom
            FROM problems
            WHERE geom && benv AND ST_X(geom) BETWEEN x0 AND x1 AND ST_Y(geom) BETWEEN y0 AND y1
        ) q;
    END IF;
    RETURN mvt;
END
$$ LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE;

-- a. Clusters computed per request: every point of the tile snapped with ST_SnapToGrid to the
--    centre of its cell (grid origin at the centre of the tile's first cell, cell = tile width
--    / 16), grouped by cell and category, then by cell.
CREATE FUNCTION civmap_problems_live(z integer, x integer, y integer)
RETURNS bytea AS $$
DECLARE
    env geometry := ST_TileEnvelope(z, x, y);
    x0 double precision := ST_XMin(env);
    y1 double precision := ST_YMax(env);
    cell double precision := (ST_XMax(env) - ST_XMin(env)) / 16;
    mvt bytea;
BEGIN
    IF z < 10 OR z > 16 THEN
        RETURN NULL;
    END IF;
    IF z >= 14 THEN
        RETURN civmap_problem_points(z, x, y);
    END IF;
    SELECT ST_AsMVT(q, 'problems', 4096, 'geom', 'cell') INTO mvt FROM (
        SELECT ((y::bigint * 16 + cy) << (z + 4)) + x::bigint * 16 + cx AS cell,
               sum(n)::bigint AS count,
               (array_agg(category ORDER BY n DESC, ord))[1] AS top_category,
               max(n)::bigint AS top_count,
               ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(sum(sx) / sum(n), sum(sy) / sum(n)), 3857),
                            env, 4096, 64, true) AS geom
        FROM (
            SELECT round((ST_X(snapped) - x0 - cell / 2) / cell)::int AS cx,
                   round((y1 - cell / 2 - ST_Y(snapped)) / cell)::int AS cy,
                   category, ord, n, sx, sy
            FROM (
                SELECT ST_SnapToGrid(geom, x0 + cell / 2, y1 - cell / 2, cell, cell) AS snapped,
                       category, min(ord) AS ord, count(*) AS n,
                       sum(ST_X(geom)) AS sx, sum(ST_Y(geom)) AS sy
                FROM problems
                WHERE geom && env
                GROUP BY 1, 2
            ) g
        ) cats
        -- the tile's own points: west and north edges in, east and south edges out
        WHERE cx BETWEEN 0 AND 15 AND cy BETWEEN 0 AND 15
        GROUP BY cx, cy
    ) q;
    RETURN mvt;
END
$$ LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE;

-- b. The cell table, built once after loading like civmap's count pyramid: per zoom 10..13,
--    per non-empty cell of world level z + 4 (gx, gy), its count, top category and its count,
--    and the sums of the points' coordinates for the mean position; indexed by the tile it
--    lies in (z, tx, ty), so a tile reads its at most 256 cells from one index range.
CREATE TABLE problem_cells (
    z int NOT NULL, tx int NOT NULL, ty int NOT NULL, gx int NOT NULL, gy int NOT NULL,
    count bigint NOT NULL, top_category text NOT NULL, top_count bigint NOT NULL,
    sx double precision NOT NULL, sy double precision NOT NULL
);
DO $$
DECLARE
    half constant double precision := 20037508.342789244;  -- half the Web Mercator world
BEGIN
    FOR z IN 10..13 LOOP
        INSERT INTO problem_cells
        SELECT z, gx >> 4, gy >> 4, gx, gy, sum(n), (array_agg(category ORDER BY n DESC, ord))[1],
               max(n), sum(sx), sum(sy)
        FROM (
            SELECT least(floor((ST_X(geom) + half) / (2 * half) * (1 << (z + 4))), (1 << (z + 4)) - 1)::int AS gx,
                   least(floor((half - ST_Y(geom)) / (2 * half) * (1 << (z + 4))), (1 << (z + 4)) - 1)::int AS gy,
                   category, min(ord) AS ord, count(*) AS n, sum(ST_X(geom)) AS sx, sum(ST_Y(geom)) AS sy
            FROM problems
            GROUP BY 1, 2, 3
        ) cats
        GROUP BY gx, gy;
    END LOOP;
END
$$;
CREATE INDEX problem_cells_tile ON problem_cells (z, tx, ty);
CLUSTER problem_cells USING problem_cells_tile;
VACUUM ANALYZE problem_cells;

CREATE FUNCTION civmap_problems_pyramid(z integer, x integer, y integer)
RETURNS bytea AS $$
DECLARE
    env geometry := ST_TileEnvelope(z, x, y);
    zoom constant int := z;  -- (problem_cells has a column z)
    mvt bytea;
BEGIN
    IF zoom < 10 OR zoom > 16 THEN
        RETURN NULL;
    END IF;
    IF zoom >= 14 THEN
        RETURN civmap_problem_points(zoom, x, y);
    END IF;
    SELECT ST_AsMVT(q, 'problems', 4096, 'geom', 'cell') INTO mvt FROM (
        SELECT (c.gy::bigint << (zoom + 4)) + c.gx AS cell, c.count, c.top_category, c.top_count,
               ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(c.sx / c.count, c.sy / c.count), 3857),
                            env, 4096, 64, true) AS geom
        FROM problem_cells c
        WHERE c.z = zoom AND c.tx = x AND c.ty = y
        ORDER BY c.gy, c.gx
    ) q;
    RETURN mvt;
END
$$ LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE;
