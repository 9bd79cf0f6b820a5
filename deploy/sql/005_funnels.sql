-- The journey-builder's own state and the funnel rollups.
--
-- Exactly once: every transaction the journey-builder commits for a consumed
-- batch also moves journey_offsets for the batch's partitions, and it skips
-- what journey_offsets says is applied. A crash between that commit and the
-- Kafka offset commit replays messages the database already holds, and they
-- change nothing: sessions, journeys and rollups end as without the crash.
-- A replica that lost a partition in a rebalance cannot commit for it any
-- more: its transaction checks the offset it started from is still there.

CREATE TABLE journey_offsets (
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL CHECK (kafka_partition >= 0),
    next_offset     bigint      NOT NULL CHECK (next_offset >= 0),  -- first offset not applied
    stream_ms       bigint      NOT NULL DEFAULT 0, -- latest event time applied: the partition's clock
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, kafka_partition)
);

-- What the journey-builder needs to go on with a session after a restart or
-- a rebalance: the Kafka partition of its visitor (the replica owning that
-- partition closes it), the times of its entry and exit page views, and per
-- funnel the steps reached in it (bit i: step i + 1), so that a session is
-- counted once per step.
ALTER TABLE sessions
    ADD COLUMN kafka_partition integer,
    ADD COLUMN entry_at timestamptz,
    ADD COLUMN exit_at timestamptz,
    ADD COLUMN funnel_steps jsonb NOT NULL DEFAULT '{}';

-- Open sessions of one partition by last activity: what the idle closer scans.
CREATE INDEX sessions_open_partition ON sessions (kafka_partition, ended_at) WHERE NOT closed;

-- The funnels of deploy/config/funnels.json, written by the journey-builder
-- at start, so reports list every step, reached or not.
CREATE TABLE funnel_definitions (
    funnel                text        PRIMARY KEY,
    steps                 text[]      NOT NULL,          -- step names, in order
    strict                boolean     NOT NULL,
    window_hours          integer     NOT NULL,
    abandon_from_step     integer     NOT NULL DEFAULT 0, -- 1-based; 0: no abandonment
    abandon_after_minutes integer     NOT NULL DEFAULT 0,
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- A visitor's current attempt at a funnel (struct funnel_progress): kept so
-- that a restart or another replica goes on counting it where it was.
CREATE TABLE funnel_progress (
    fingerprint     text        NOT NULL,
    funnel          text        NOT NULL,
    kafka_partition integer     NOT NULL,
    started_at      timestamptz NOT NULL,                -- the attempt's first step
    day             date        NOT NULL,                -- its UTC day: the rollup row it counts in
    channel         text        NOT NULL,                -- of its first step: idem
    device_type     text        NOT NULL,
    reached_ms      bigint[]    NOT NULL,                -- per step, ms since the epoch; 0: not reached
    inferred        integer     NOT NULL DEFAULT 0,      -- bit i: step i + 1 inferred
    furthest        smallint    NOT NULL,                -- 1-based highest step reached
    abandoned       boolean     NOT NULL DEFAULT false,
    session_id      text,                                -- of its latest step
    abandon_at      timestamptz,                         -- when it counts as abandoned; NULL: not due
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (fingerprint, funnel)
);

-- Attempts that fall due for abandonment, per partition.
CREATE INDEX funnel_progress_abandon ON funnel_progress (kafka_partition, abandon_at)
    WHERE abandon_at IS NOT NULL;

-- The upper bounds, in seconds, of the buckets of since_prev_hist: bucket i
-- counts times t with bound[i-1] <= t < bound[i] (bound[0] taken as 0); the
-- last bucket, past the last bound, has no upper end. The journey-builder
-- refuses to start when its own copy differs.
CREATE FUNCTION funnel_hist_bounds() RETURNS double precision[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY[1, 2, 3, 5, 7, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300, 420, 600,
                   900, 1200, 1800, 2700, 3600, 5400, 7200, 10800, 14400, 21600, 28800, 43200,
                   64800, 86400, 129600, 172800, 259200, 345600, 432000, 604800]::double precision[] $$;

-- Funnel rollups: one row per funnel, UTC day, step, channel and device.
-- Attempts are counted on the day they started, with the channel and device
-- of their first step, so a step's row never outnumbers the step before it
-- in a strict funnel and a 30-day report reads at most days x steps x
-- channels x devices rows.
CREATE TABLE funnel_daily (
    funnel           text        NOT NULL,
    day              date        NOT NULL,
    step             smallint    NOT NULL CHECK (step >= 1),  -- 1-based
    channel          text        NOT NULL,                    -- direct, organic_search, ..., unknown
    device_type      text        NOT NULL,                    -- desktop, mobile, tablet, unknown
    visitors         bigint      NOT NULL DEFAULT 0,          -- attempts that reached the step
    sessions         bigint      NOT NULL DEFAULT 0,          -- sessions in which they reached it
    inferred         bigint      NOT NULL DEFAULT 0,          -- of visitors: reached without being seen
    abandoned        bigint      NOT NULL DEFAULT 0,          -- attempts abandoned with this step their furthest
    since_prev_n     bigint      NOT NULL DEFAULT 0,          -- times measured from the previous step
    since_prev_sum_s double precision NOT NULL DEFAULT 0,
    since_prev_hist  bigint[]    NOT NULL DEFAULT '{}',       -- counts per bucket of funnel_hist_bounds()
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (funnel, day, step, channel, device_type)
);
