-- When each call was created and last saved (Unix nanoseconds; changed_at
-- by the database's clock), for listings newest first and for what changed
-- lately (ListCalls): the console lists the one and, while it is open,
-- polls the other. The calls already there get their documents' creation
-- time and no change.
ALTER TABLE calls ADD COLUMN created_at bigint NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN changed_at bigint NOT NULL DEFAULT 0;
UPDATE calls SET created_at = coalesce(
	(extract(epoch FROM (convert_from(data, 'UTF8')::jsonb ->> 'CreatedAt')::timestamptz) * 1000000)::bigint * 1000, 0);
CREATE INDEX calls_created ON calls (tenant_id, created_at, id);
CREATE INDEX calls_changed ON calls (tenant_id, changed_at);
