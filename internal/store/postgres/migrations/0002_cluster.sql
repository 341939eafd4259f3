-- What the nodes of a cluster share beside the calls: who they are and how
-- long their leases run, the identity documents (directory and signing
-- keys), and the fault rules.

-- A node owns the streams and timers of the calls it created (or took over)
-- while its lease runs; lease_until is the database's clock, so the nodes'
-- clocks never matter. address is a base URL commands can reach it at.
-- inherited are the nodes whose calls it took over lately: handovers still
-- addressed to them are its own. events_seen is the last cluster event
-- (numbered by cluster_events) it has acted on: a node that changes the
-- directory, the fault rules or the world waits until every live node has.
CREATE TABLE nodes (
	id          text PRIMARY KEY,
	address     text NOT NULL,
	started_at  timestamptz NOT NULL DEFAULT now(),
	lease_until timestamptz NOT NULL,
	inherited   text[] NOT NULL DEFAULT '{}',
	events_seen bigint NOT NULL DEFAULT 0
);
CREATE SEQUENCE cluster_events;
-- A dead node's calls are found by owner.
CREATE INDEX calls_owner ON calls (owner_node);

CREATE TABLE documents (
	name    text PRIMARY KEY,
	version bigint NOT NULL,
	data    bytea NOT NULL
);

-- Fault rules in the order they were added; a rule bounded by times is
-- used up when matched reaches it, one whose time is up at expires_at
-- (Unix nanoseconds).
CREATE SEQUENCE fault_rule_numbers;
CREATE TABLE fault_rules (
	id         text PRIMARY KEY,
	number     bigint NOT NULL,
	times      integer NOT NULL,
	matched    integer NOT NULL DEFAULT 0,
	expires_at bigint,
	rule       bytea NOT NULL
);
