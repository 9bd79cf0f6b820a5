-- What "the same event" and "the same stream" are, for the journey-builder.
--
-- 1. One event is one event_id, in every table. analytics_events is
-- partitioned by day, so its keys must hold event_time and it cannot refuse
-- the same event_id at another time (a client resend without a timestamp
-- after the enricher's dedup forgot it: the collector stamps it anew), while
-- customer_journeys is keyed on event_id alone. analytics_event_ids holds
-- each archived event_id once, not partitioned: the journey-builder inserts
-- a batch's ids here in the transaction that archives its rows, and an id
-- already here makes the event a duplicate everywhere (not archived again,
-- not applied to sessions, journeys or funnels). event_time is that of the
-- archived row: retention deletes ids by it when it drops their day's
-- partition, so both keep the same days. The BRIN index (ids arrive roughly
-- in time order) makes that delete cheap without a second B-tree to keep up
-- on every insert.
CREATE TABLE analytics_event_ids (
    event_id   text        PRIMARY KEY,
    event_time timestamptz NOT NULL
);
CREATE INDEX analytics_event_ids_time ON analytics_event_ids USING brin (event_time);

-- The events archived before this migration (the earliest row of an id
-- archived more than once is the one that counts).
INSERT INTO analytics_event_ids (event_id, event_time)
    SELECT DISTINCT ON (event_id) event_id, event_time
      FROM analytics_events
     ORDER BY event_id, event_time;

-- 2. journey_offsets belong to one Kafka cluster: its id (as the broker
-- reports it; NULL when it was not known) is written with every offset, and
-- offsets recorded on another cluster (a devbroker started afresh, say) are
-- not trusted: the journey-builder starts that partition from the broker's
-- offsets again (journey.offsets_reset).
ALTER TABLE journey_offsets ADD COLUMN cluster_id text;
