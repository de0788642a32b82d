-- 0004_relay.sql: what replicas follow besides the change log.
--
-- report_relay: the agent reports each replica received, one batch per
-- replica and second (store_relay_put()), so the leader's gates and every
-- replica's views see the hosts connected to any replica. Ids are assigned
-- under the relay_head row lock, so they become visible in increasing
-- order, like the change log's revisions. Rows are observations, not
-- changes: not audited, trimmed after minutes (store_changes_trim()).
CREATE TABLE relay_head (
    id integer PRIMARY KEY CHECK (id = 1)
);
INSERT INTO relay_head (id) VALUES (1);
CREATE TABLE report_relay (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    origin text COLLATE "C" NOT NULL,
    at_ms  bigint NOT NULL,
    body   bytea  NOT NULL
);
CREATE INDEX report_relay_at ON report_relay (at_ms);
CREATE INDEX changes_at ON changes (at_ms);
