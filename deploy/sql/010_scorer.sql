-- The scorer's own state (analytics-scorer, issue 14).
--
-- Exactly once, as the journey-builder: every transaction the scorer commits
-- for a consumed batch also moves scorer_offsets for the batch's partitions
-- of both topics it reads (events.enriched and journeys), and it skips what
-- scorer_offsets says is applied; a replica that lost a partition cannot
-- commit for it any more (its transaction checks the offset it started from).

CREATE TABLE scorer_offsets (
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL CHECK (kafka_partition >= 0),
    next_offset     bigint      NOT NULL CHECK (next_offset >= 0),  -- first offset not applied
    stream_ms       bigint      NOT NULL DEFAULT 0, -- latest event time applied: the partition's clock
    cluster_id      text,                           -- the Kafka cluster the offsets belong to
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, kafka_partition)
);

-- What a replica needs to go on with a visitor after a restart or a
-- rebalance (state: the whole profile, services/scorer/profile_codec.c), and
-- the profile fields the dashboard and the audiences read.
ALTER TABLE user_behavior_profiles
    ADD COLUMN kafka_partition integer,
    ADD COLUMN state           jsonb,
    ADD COLUMN forms_started   integer NOT NULL DEFAULT 0 CHECK (forms_started >= 0),
    ADD COLUMN rage_clicks     integer NOT NULL DEFAULT 0 CHECK (rage_clicks >= 0),
    ADD COLUMN exit_intents    integer NOT NULL DEFAULT 0 CHECK (exit_intents >= 0),
    ADD COLUMN deepest_scroll  smallint NOT NULL DEFAULT 0 CHECK (deepest_scroll BETWEEN 0 AND 100),
    ADD COLUMN returning_visitor boolean NOT NULL DEFAULT false,
    ADD COLUMN first_channel   text,
    ADD COLUMN first_device    text,
    ADD COLUMN page_types      jsonb NOT NULL DEFAULT '{}', -- {"pricing": {"views": 3, "seconds": 95}, ...}
    ADD COLUMN visit_days      integer NOT NULL DEFAULT 0 CHECK (visit_days >= 0),
    ADD COLUMN p_alive         real CHECK (p_alive BETWEEN 0 AND 1),
    ADD COLUMN expected_visits real CHECK (expected_visits >= 0),
    ADD COLUMN bot_events      bigint NOT NULL DEFAULT 0 CHECK (bot_events >= 0);

-- Visitors at risk first (the churn list).
CREATE INDEX user_behavior_profiles_churn ON user_behavior_profiles (churn_risk DESC)
    WHERE churn_risk IS NOT NULL;

-- The site's page statistics, additive per UTC day and page, that every
-- scorer replica adds its closed sessions to in the batch's transaction and
-- reads back (a trailing window) every minute: a page's bounce rate is
-- bounces / entrances, its exit rate exits / page_views, its page value
-- value / unique_views (services/scorer/pagestats.h).
CREATE TABLE page_stats_daily (
    day          date    NOT NULL,
    page_hash    bigint  NOT NULL,             -- FNV-1a of host and path, as the scorer keys pages
    page         text,                         -- host and path, for people, when known
    entrances    bigint  NOT NULL DEFAULT 0 CHECK (entrances >= 0),
    bounces      bigint  NOT NULL DEFAULT 0 CHECK (bounces >= 0),
    page_views   bigint  NOT NULL DEFAULT 0 CHECK (page_views >= 0),
    exits        bigint  NOT NULL DEFAULT 0 CHECK (exits >= 0),
    unique_views bigint  NOT NULL DEFAULT 0 CHECK (unique_views >= 0),
    value        numeric NOT NULL DEFAULT 0,   -- conversion value attributed, in the site's unit
    PRIMARY KEY (day, page_hash)
);

-- When each visitor's churn warning falls due (their risk crosses
-- ANALYTICS_SCORER_CHURN_ALERT while they stay silent, and at the latest
-- 72 hours before they would lapse): a durable schedule, so a restart or
-- another replica still sends it. One row per visitor; an event moves it.
CREATE TABLE scorer_churn_due (
    fingerprint     text        PRIMARY KEY,
    kafka_partition integer     NOT NULL CHECK (kafka_partition >= 0),
    due_at          timestamptz NOT NULL,
    reason          text        NOT NULL,      -- churn_warning or lapse_warning
    risk_at_due     real        CHECK (risk_at_due BETWEEN 0 AND 1)
);

-- What falls due on one partition, soonest first.
CREATE INDEX scorer_churn_due_partition ON scorer_churn_due (kafka_partition, due_at);
