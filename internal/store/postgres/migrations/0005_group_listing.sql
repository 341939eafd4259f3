-- When each meeting or group call was created and last saved (Unix
-- nanoseconds; changed_at by the database's clock), for the listing of
-- meetings and for what changed lately (ListGroups), as for calls. The
-- groups already there get their documents' creation time and no change.
ALTER TABLE groups ADD COLUMN created_at bigint NOT NULL DEFAULT 0;
ALTER TABLE groups ADD COLUMN changed_at bigint NOT NULL DEFAULT 0;
UPDATE groups SET created_at = coalesce(
	(extract(epoch FROM (convert_from(data, 'UTF8')::jsonb ->> 'CreatedAt')::timestamptz) * 1000000)::bigint * 1000, 0);
-- Listings order by id: byte order, as in SQLite and as calls.id is.
ALTER TABLE groups ALTER COLUMN id TYPE text COLLATE "C";
CREATE INDEX groups_created ON groups (tenant_id, created_at, id);
CREATE INDEX groups_changed ON groups (tenant_id, changed_at);
