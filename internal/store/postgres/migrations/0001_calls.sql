-- The tables of store.Store, as the sqlite engine has them. Times are Unix
-- nanoseconds (bigint) so that they round-trip exactly; NULL is the zero time.
-- Ids that listings order by are collated "C": byte order, as in SQLite,
-- whatever the database's default collation.

CREATE TABLE calls (
	id         text COLLATE "C" PRIMARY KEY,
	tenant_id  text NOT NULL,
	app_id     text NOT NULL,
	state      text NOT NULL,
	version    bigint NOT NULL,
	deadline   bigint,
	ended_at   bigint,
	data       bytea NOT NULL,
	-- The node that created the call.
	owner_node text NOT NULL DEFAULT ''
);
CREATE INDEX calls_ended ON calls (ended_at) WHERE ended_at IS NOT NULL;
-- Live calls by owner: the per-application call limit and ending a removed
-- application's calls.
CREATE INDEX calls_live ON calls (tenant_id, app_id) WHERE ended_at IS NULL;

CREATE TABLE notifications (
	seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	message_id       text NOT NULL,
	call_id          text NOT NULL,
	tenant_id        text NOT NULL,
	app_id           text NOT NULL,
	chain_id         text NOT NULL,
	scenario_id      text NOT NULL,
	callback_uri     text NOT NULL,
	payload          bytea NOT NULL,
	created_at       bigint NOT NULL,
	status           text NOT NULL,
	attempts         integer NOT NULL DEFAULT 0,
	last_status_code integer NOT NULL DEFAULT 0,
	last_error       text NOT NULL DEFAULT '',
	last_attempt_at  bigint,
	next_attempt_at  bigint,
	last_duration    bigint NOT NULL DEFAULT 0
);
CREATE INDEX notifications_pending ON notifications (seq) WHERE status = 'pending';
CREATE INDEX notifications_call ON notifications (call_id, seq);

CREATE TABLE groups (
	id              text PRIMARY KEY,
	tenant_id       text NOT NULL,
	thread_id       text,
	join_meeting_id text,
	token           text,
	version         bigint NOT NULL,
	ended_at        bigint,
	data            bytea NOT NULL
);
CREATE INDEX groups_thread ON groups (tenant_id, thread_id) WHERE thread_id IS NOT NULL;
CREATE INDEX groups_join_meeting_id ON groups (tenant_id, join_meeting_id) WHERE join_meeting_id IS NOT NULL;
CREATE INDEX groups_token ON groups (tenant_id, token) WHERE token IS NOT NULL;
CREATE INDEX groups_ended ON groups (ended_at) WHERE ended_at IS NOT NULL;

CREATE TABLE people (
	tenant_id text NOT NULL,
	id        text COLLATE "C" NOT NULL,
	data      bytea NOT NULL,
	PRIMARY KEY (tenant_id, id)
);

-- Speech goes with its call: the purge deletes it with the call.
CREATE TABLE speech (
	call_id      text NOT NULL,
	operation_id text NOT NULL,
	audio        bytea NOT NULL,
	PRIMARY KEY (call_id, operation_id)
);

-- The bots' requests, for calls' timelines. id is the order they were
-- recorded in (SQLite's rowid): timelines are read, and old entries purged,
-- in that order.
CREATE TABLE requests (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	call_id      text NOT NULL,
	at           bigint NOT NULL,
	method       text NOT NULL,
	path         text NOT NULL,
	action       text NOT NULL,
	status       integer NOT NULL,
	operation_id text NOT NULL,
	duration     bigint NOT NULL
);
CREATE INDEX requests_call ON requests (call_id, id);
