-- civmap schema 5 (PostgreSQL): case numbers and places; two more event kinds.
-- Keep in step with ../sqlite/0005_case_numbers.sql, which says what each column means.
ALTER TABLE problems ADD COLUMN case_no TEXT;
ALTER TABLE problems ADD COLUMN place TEXT NOT NULL DEFAULT '';

WITH numbered AS (
    SELECT id,
           to_char(to_timestamp(reported_at / 1000.0) AT TIME ZONE 'Asia/Shanghai', 'YYMMDD') AS day,
           row_number() OVER (
               PARTITION BY to_char(to_timestamp(reported_at / 1000.0) AT TIME ZONE 'Asia/Shanghai', 'YYMMDD')
               ORDER BY reported_at, id) AS n
    FROM problems
)
UPDATE problems SET case_no = 'CM' || numbered.day || '-' || lpad(numbered.n::text, 4, '0')
FROM numbered WHERE problems.id = numbered.id;

CREATE UNIQUE INDEX problems_by_case_no ON problems (case_no);

CREATE TABLE case_counters (
    day  BIGINT PRIMARY KEY CHECK (day BETWEEN 0 AND 991231),
    last BIGINT NOT NULL CHECK (last >= 0)
);
INSERT INTO case_counters (day, last)
SELECT CAST(substr(case_no, 3, 6) AS BIGINT), max(CAST(substr(case_no, 10) AS BIGINT))
FROM problems GROUP BY substr(case_no, 3, 6);

ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check
    CHECK (kind IN ('created', 'dispatched', 'escalated', 'rectified', 'rejected', 'verified',
                    'recurred', 'merged', 'edited', 'reinspected', 'feedback', 'notice'));
