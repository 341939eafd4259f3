-- A call's kind, for counting live calls by kind (metrics) without reading
-- their documents.
ALTER TABLE calls ADD COLUMN kind text NOT NULL DEFAULT '';
