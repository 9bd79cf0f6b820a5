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
    updated_at            timestamptz NOT NULL DEFAULT now(),
    -- As the journey-builder's loader checks funnels.json.
    CHECK (cardinality(steps) BETWEEN 2 AND 16),
    CHECK (window_hours > 0),
    CHECK (abandon_from_step BETWEEN 0 AND cardinality(steps) - 1),
    CHECK (abandon_after_minutes >= 0)
);

-- A visitor's current attempt at a funnel (struct funnel_progress): kept so
-- that a restart or another replica goes on counting it where it was.
CREATE TABLE funnel_progress (
    fingerprint     text        NOT NULL,
    funnel          text        NOT NULL,
    kafka_partition integer     NOT NULL,
    started_at      timestamptz NOT NULL,                -- the attempt's first step
    day             date        NOT NULL,                -- its UTC day: the rollup row it counts in
    channel         text        NOT NULL,                -- of its first step's session: idem
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
-- of the session of their first step, so a step's row never outnumbers the step before it
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
    PRIMARY KEY (funnel, day, step, channel, device_type),
    CHECK (visitors >= 0 AND sessions >= 0 AND inferred >= 0 AND abandoned >= 0
           AND since_prev_n >= 0),
    CHECK (array_ndims(since_prev_hist) IS NULL OR (array_ndims(since_prev_hist) = 1
           AND cardinality(since_prev_hist) <= 39))
);

-- ---- Reading the rollups: what the push-gateway and operators call ----
--
-- Histograms here are since_prev_hist arrays: one count per bucket of
-- funnel_hist_bounds() (so at most cardinality(funnel_hist_bounds()) + 1
-- elements), element 1 the first bucket whatever the array's subscripts say;
-- a missing or NULL element counts 0.

-- The element-wise sum of two histograms: element i of the result is
-- a[i] + b[i], the shorter padded with zeros, a NULL array or '{}' taken as
-- empty (so the result is '{}' only when both are). What the journey-builder's
-- upsert merges a batch into a rollup row with:
--   ON CONFLICT (funnel, day, step, channel, device_type) DO UPDATE SET
--       since_prev_hist = funnel_hist_add(funnel_daily.since_prev_hist, EXCLUDED.since_prev_hist)
-- and funnel_hist_sum's step, so it adds the shorter into the longer in
-- place rather than building a third array. A sum past the range of bigint
-- is an error, never a wrap.
CREATE FUNCTION funnel_hist_add(a bigint[], b bigint[]) RETURNS bigint[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    -- Renumber what is not one dimension from subscript 1 (not what the
    -- journey-builder writes, but the rule above holds for it too).
    IF array_ndims(a) > 1 OR array_lower(a, 1) <> 1 THEN
        a := ARRAY(SELECT unnest(a));
    END IF;
    IF array_ndims(b) > 1 OR array_lower(b, 1) <> 1 THEN
        b := ARRAY(SELECT unnest(b));
    END IF;
    IF coalesce(cardinality(a), 0) < coalesce(cardinality(b), 0) THEN
        SELECT b, a INTO a, b;
    END IF;
    IF coalesce(cardinality(a), 0) = 0 THEN
        RETURN '{}';
    END IF;
    FOR i IN 1 .. coalesce(cardinality(b), 0) LOOP
        a[i] := coalesce(a[i], 0) + coalesce(b[i], 0);
    END LOOP;
    IF array_position(a, NULL) IS NOT NULL THEN -- past b's end
        a := ARRAY(SELECT coalesce(n, 0) FROM unnest(a) AS n);
    END IF;
    RETURN a;
END
$$;

-- The sum of the histograms of a group of rows (funnel_hist_add over them);
-- '{}' for no rows.
CREATE AGGREGATE funnel_hist_sum(bigint[]) (
    SFUNC = funnel_hist_add,
    STYPE = bigint[],
    INITCOND = '{}',
    COMBINEFUNC = funnel_hist_add,
    PARALLEL = SAFE
);

-- The median, in seconds, of the times a histogram counts: the point below
-- which half of its total count lies (total / 2, the grouped-data median),
-- assuming the times in a bucket are spread evenly over it. Bucket i covers
-- [bound[i-1], bound[i]) with bound[0] = 0, so the answer is
--   lower + (total / 2 - count below the bucket) / count in the bucket x width
-- for the first bucket with a count where the running count reaches
-- total / 2 (a median that falls exactly between two buckets is the bound
-- between them). The last bucket has no upper end: a median in it is its
-- lower bound, the last of funnel_hist_bounds(), a floor rather than an
-- estimate. NULL for a NULL or empty histogram or one that counts nothing.
-- A histogram with more elements than there are buckets, more than one
-- dimension or a negative count is not one the journey-builder writes, and
-- is an error rather than a guess.
CREATE FUNCTION funnel_hist_median(hist bigint[]) RETURNS double precision
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    bounds constant double precision[] := funnel_hist_bounds();
    nbounds constant integer := cardinality(bounds);
    total numeric := 0;
    half double precision;
    below bigint := 0;
    n bigint;
    i integer := 0;
    lower double precision;
BEGIN
    IF hist IS NULL OR cardinality(hist) = 0 THEN
        RETURN NULL;
    END IF;
    IF array_ndims(hist) > 1 OR cardinality(hist) > nbounds + 1 THEN
        RAISE EXCEPTION 'funnel_hist_median: a histogram has at most % buckets in one dimension, got %',
            nbounds + 1, array_dims(hist)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH n IN ARRAY hist LOOP
        IF n < 0 THEN
            RAISE EXCEPTION 'funnel_hist_median: negative count % in histogram %', n, hist
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        total := total + coalesce(n, 0);
    END LOOP;
    IF total = 0 THEN
        RETURN NULL;
    END IF;
    half := total / 2;
    FOREACH n IN ARRAY hist LOOP
        i := i + 1;
        n := coalesce(n, 0);
        IF n > 0 AND below + n >= half THEN
            lower := CASE WHEN i = 1 THEN 0 ELSE bounds[i - 1] END;
            IF i > nbounds THEN
                RETURN lower;
            END IF;
            RETURN lower + (half - below) / n * (bounds[i] - lower);
        END IF;
        below := below + n;
    END LOOP;
    RETURN NULL; -- not reached: the running count ends at total
END
$$;

-- One funnel over a time range: a row per step of funnel_definitions.steps,
-- in order, named from there and listed whether anything reached it or not,
-- with the funnel_daily rows of the range summed:
--   visitors, sessions, inferred, abandoned: the sums of those columns (an
--       attempt is counted on the UTC day it started, with the channel and
--       device of its first step, so "visitors" counts attempts: a visitor
--       who tried twice in the range counts twice);
--   conversion_from_previous: visitors / the previous step's visitors;
--   drop_off: the previous step's visitors - visitors;
--   drop_off_rate: drop_off / the previous step's visitors (1 - conversion);
--   median_seconds_from_previous: funnel_hist_median of the step's summed
--       since_prev_hist (times measured from the previous step; inferred
--       steps have none);
-- the four of them NULL for step 1, the rates also when the previous step
-- has 0 visitors, the median also when no time was measured. In a funnel
-- of any order a step can outnumber the one before it: conversion above 1,
-- a negative drop-off.
--
-- The range is [from_ts, to_ts), in whole UTC days: a day's rows count when
-- the day, [day 00:00 UTC, day + 1 00:00 UTC), overlaps the range, i.e.
--   day >= (from_ts AT TIME ZONE 'UTC')::date
--   AND day::timestamp AT TIME ZONE 'UTC' < to_ts
-- so the day holding from_ts counts even when from_ts is past its midnight,
-- the day holding to_ts counts unless to_ts is its very midnight, and a
-- range from one UTC midnight to another 30 days later reads exactly those
-- 30 days. An empty range (from_ts = to_ts) reads no day; -infinity and
-- infinity are allowed.
--
-- channel and device_type, when not NULL, keep only the rows with that
-- channel or device (funnel_daily stores a missing one as 'unknown').
-- Errors: an unknown funnel, a NULL bound, from_ts after to_ts.
-- Rows of steps past the end of the definition (a funnel shortened since)
-- are not shown. The rows come from funnel_daily's primary key
-- (funnel, day, ...): a 30-day report reads days x steps x channels x
-- devices rows at most.
CREATE FUNCTION funnel_report(funnel text, from_ts timestamptz, to_ts timestamptz,
                              channel text DEFAULT NULL, device_type text DEFAULT NULL)
    RETURNS TABLE (step integer, step_name text, visitors bigint, sessions bigint,
                   conversion_from_previous double precision, drop_off bigint,
                   drop_off_rate double precision, median_seconds_from_previous double precision,
                   inferred bigint, abandoned bigint)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
#variable_conflict use_column
DECLARE
    step_names text[];
    to_utc timestamp;
    first_day date;
    end_day date; -- the first day not read
BEGIN
    IF from_ts IS NULL OR to_ts IS NULL THEN
        RAISE EXCEPTION 'funnel_report: from_ts and to_ts are required'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF from_ts > to_ts THEN
        RAISE EXCEPTION 'funnel_report: from_ts (%) is after to_ts (%)', from_ts, to_ts
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT d.steps INTO step_names FROM funnel_definitions d WHERE d.funnel = funnel_report.funnel;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'funnel_report: unknown funnel "%"', funnel_report.funnel
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The funnels are those of funnel_definitions, which the journey-builder '
                         'writes from its funnels file at start.';
    END IF;

    first_day := (from_ts AT TIME ZONE 'UTC')::date;
    to_utc := to_ts AT TIME ZONE 'UTC';
    end_day := CASE WHEN to_utc = date_trunc('day', to_utc) THEN to_utc::date
                    ELSE to_utc::date + 1 END;
    IF from_ts = to_ts THEN
        end_day := first_day;
    END IF;

    RETURN QUERY
    WITH sums AS (
        SELECT fd.step::integer AS step,
               sum(fd.visitors)::bigint AS visitors,
               sum(fd.sessions)::bigint AS sessions,
               sum(fd.inferred)::bigint AS inferred,
               sum(fd.abandoned)::bigint AS abandoned,
               funnel_hist_sum(fd.since_prev_hist) AS hist
          FROM funnel_daily fd
         WHERE fd.funnel = funnel_report.funnel
           AND fd.day >= first_day AND fd.day < end_day
           AND (funnel_report.channel IS NULL OR fd.channel = funnel_report.channel)
           AND (funnel_report.device_type IS NULL OR fd.device_type = funnel_report.device_type)
         GROUP BY fd.step
    ), steps AS (
        SELECT s.n::integer AS step, s.name AS step_name,
               coalesce(x.visitors, 0) AS visitors,
               coalesce(x.sessions, 0) AS sessions,
               coalesce(x.inferred, 0) AS inferred,
               coalesce(x.abandoned, 0) AS abandoned,
               lag(coalesce(x.visitors, 0)) OVER (ORDER BY s.n) AS prev,
               x.hist
          FROM unnest(step_names) WITH ORDINALITY AS s(name, n)
               LEFT JOIN sums x ON x.step = s.n
    )
    SELECT st.step, st.step_name, st.visitors, st.sessions,
           CASE WHEN st.prev > 0 THEN st.visitors::double precision / st.prev END,
           st.visitors_dropped,
           CASE WHEN st.prev > 0 THEN st.visitors_dropped::double precision / st.prev END,
           CASE WHEN st.step > 1 THEN funnel_hist_median(st.hist) END,
           st.inferred, st.abandoned
      FROM (SELECT steps.*, steps.prev - steps.visitors AS visitors_dropped FROM steps) st
     ORDER BY st.step;
END
$$;

-- A visitor's journey: their customer_journeys rows in seq order (ties, which
-- the journey-builder does not make, by time and then event id). No rows for
-- a visitor with none.
CREATE FUNCTION visitor_journey(fp text)
    RETURNS TABLE (seq integer, occurred_at timestamptz, stage text, previous_stage text,
                   touchpoint text, channel text, page_url text, session_id text,
                   time_spent_s integer, event_id text)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT j.seq, j.occurred_at, j.stage, j.previous_stage, j.touchpoint, j.channel, j.page_url,
           j.session_id, j.time_spent_s, j.event_id
      FROM customer_journeys j
     WHERE j.fingerprint = fp
     ORDER BY j.seq, j.occurred_at, j.event_id
$$;

-- Sessions by channel and device: the sessions that started in
-- [from_ts, to_ts) (exact times, not days), bots left out, one row per
-- channel and device with a missing one shown as 'unknown', most sessions
-- first. visitors counts distinct fingerprints; bounce_rate and
-- conversion_rate are bounced and converted over sessions; avg_duration_s
-- and page_views are over the sessions as they stand (one still open counts
-- with what it has so far). No rows for an empty range; a NULL bound or
-- from_ts after to_ts is an error, as for funnel_report.
CREATE FUNCTION sessions_by_channel_device(from_ts timestamptz, to_ts timestamptz)
    RETURNS TABLE (channel text, device_type text, sessions bigint, visitors bigint,
                   bounced bigint, converted bigint, bounce_rate double precision,
                   conversion_rate double precision, avg_duration_s double precision,
                   page_views bigint)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
#variable_conflict use_column
BEGIN
    IF from_ts IS NULL OR to_ts IS NULL THEN
        RAISE EXCEPTION 'sessions_by_channel_device: from_ts and to_ts are required'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF from_ts > to_ts THEN
        RAISE EXCEPTION 'sessions_by_channel_device: from_ts (%) is after to_ts (%)', from_ts, to_ts
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT g.channel, g.device_type, g.sessions, g.visitors, g.bounced, g.converted,
           g.bounced::double precision / g.sessions,
           g.converted::double precision / g.sessions,
           g.avg_duration_s, g.page_views
      FROM (SELECT coalesce(s.channel, 'unknown') AS channel,
                   coalesce(s.device_type, 'unknown') AS device_type,
                   count(*) AS sessions,
                   count(DISTINCT s.fingerprint) AS visitors,
                   count(*) FILTER (WHERE s.bounced) AS bounced,
                   count(*) FILTER (WHERE s.converted) AS converted,
                   avg(s.duration_s)::double precision AS avg_duration_s,
                   sum(s.page_views)::bigint AS page_views
              FROM sessions s
             WHERE s.started_at >= from_ts AND s.started_at < to_ts AND NOT s.is_bot
             GROUP BY 1, 2) g
     ORDER BY g.sessions DESC, g.channel, g.device_type;
END
$$;
