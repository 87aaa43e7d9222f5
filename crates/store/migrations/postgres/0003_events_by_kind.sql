-- Assessments and look-back lists read the lifecycle steps of a period by kind and time.
CREATE INDEX events_by_kind_at ON events (kind, at);
