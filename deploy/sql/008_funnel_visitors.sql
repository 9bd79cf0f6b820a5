-- Funnel visitors are people, not attempts (issue 12).
--
-- funnel_daily counted attempts in a column named visitors: a visitor who
-- tried twice counted twice. It keeps that count, renamed attempts, and
-- gains the set of visitors (fingerprints) that reached each row, so that
-- funnel_report's visitors are distinct visitors over its whole range:
--
--   funnel_daily.visitors_hll, inferred_hll: HyperLogLog sets (the hll
--       extension) of the fingerprints that reached the row's step, and of
--       those that reached it inferred; unions of them over days, channels
--       and devices estimate the distinct visitors of a range;
--   funnel_daily_visitors: the same sets per (funnel, day, step), over every
--       channel and device, so a report without a channel or device filter
--       unions days x steps sets, not days x steps x channels x devices;
--   funnel_visitors: one row per visitor (a 64-bit hash of the fingerprint,
--       hashtextextended(fp, 0)) per funnel_daily row it reached, so that a
--       report over up to tens of thousands of visitors counts them exactly.
--
-- The sets use log2m 17 and regwidth 5 (funnel_hll_params(): 131072
-- registers, a standard error of 1.04 / sqrt(131072) = 0.29%), the
-- extension's automatic explicit threshold (a set of up to 10240 visitors
-- is kept as the list of their hashes: exact) and its sparse form above it.
-- The extension cannot keep an explicit set past 8192 or so elements (its
-- expthresh is at most 16383), which is why the exact counts beyond that
-- come from funnel_visitors, not from the sets.
--
-- Any-order funnels count per level from this release on (row k: the
-- attempts that reached at least k distinct steps), so for them
-- sessions.funnel_steps bit i now means level i + 1, not listed step i + 1.
--
-- Rows written before this migration have no sets (visitors_hll NULL) and
-- no funnel_visitors rows: funnel_report counts their attempts as their
-- visitors, an upper bound. Their rows of an any-order funnel also count
-- per listed step, as before, not per number of steps reached.
--
-- The journey-builder adds a batch's sets and funnel_visitors rows in the
-- transaction that adds its counts and moves journey_offsets, so a replay
-- changes nothing (and adding a visitor to a set twice changes nothing
-- either). Stop journey-builders older than this migration before applying
-- it: they write the renamed column.

-- The hll extension is not trusted: creating it needs a superuser, which
-- the analytics role is not. scripts/lib/pg.sh creates it when it makes a
-- database; here it is a no-op when it exists, and a clear error when it is
-- missing and cannot be created.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'hll') THEN
        BEGIN
            CREATE EXTENSION hll;
        EXCEPTION WHEN OTHERS THEN
            RAISE EXCEPTION 'migration 008 needs the PostgreSQL extension "hll", and it could not be created: %',
                SQLERRM
                USING HINT = 'Install it on the database server (Debian: apt-get install '
                             'postgresql-15-hll) and run CREATE EXTENSION hll in this database '
                             'as a superuser (psql -U postgres -d <database> -c '
                             '"CREATE EXTENSION hll"), then run analytics-migrate again.';
        END;
    END IF;
END
$$;

-- The parameters of every visitor set: sets made with others cannot be
-- united with these.
CREATE FUNCTION funnel_hll_params(OUT log2m integer, OUT regwidth integer, OUT expthresh bigint,
                                  OUT sparseon integer)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 17, 5, -1::bigint, 1 $$;

-- An empty visitor set.
CREATE FUNCTION funnel_hll_empty() RETURNS hll
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT hll_empty(p.log2m, p.regwidth, p.expthresh, p.sparseon) FROM funnel_hll_params() p $$;

ALTER TABLE funnel_daily RENAME COLUMN visitors TO attempts;
COMMENT ON COLUMN funnel_daily.attempts IS 'attempts that reached the step (a visitor may make several)';
COMMENT ON COLUMN funnel_daily.inferred IS 'of attempts: reached the step without its event logged';
-- NULL in the rows written before this migration; new rows start empty.
ALTER TABLE funnel_daily
    ADD COLUMN visitors_hll hll,
    ADD COLUMN inferred_hll hll;
ALTER TABLE funnel_daily
    ALTER COLUMN visitors_hll SET DEFAULT funnel_hll_empty(),
    ALTER COLUMN inferred_hll SET DEFAULT funnel_hll_empty();
COMMENT ON COLUMN funnel_daily.visitors_hll IS
    'the visitors (hll_hash_text(fingerprint)) that reached the step; NULL: written before 008';
COMMENT ON COLUMN funnel_daily.inferred_hll IS 'of them, those that reached it inferred';

CREATE TABLE funnel_daily_visitors (
    funnel       text NOT NULL,
    day          date NOT NULL,
    step         smallint NOT NULL CHECK (step >= 1),
    visitors_hll hll  NOT NULL DEFAULT funnel_hll_empty(),
    inferred_hll hll  NOT NULL DEFAULT funnel_hll_empty(),
    PRIMARY KEY (funnel, day, step)
);

-- Step before day in the key: a report reads one step's days as one range
-- of the index (count(DISTINCT visitor) per step).
CREATE TABLE funnel_visitors (
    funnel      text     NOT NULL,
    step        smallint NOT NULL CHECK (step >= 1),
    day         date     NOT NULL,
    channel     text     NOT NULL,
    device_type text     NOT NULL,
    visitor     bigint   NOT NULL,                -- hashtextextended(fingerprint, 0)
    inferred    boolean  NOT NULL DEFAULT false,  -- reached it inferred (at least once)
    PRIMARY KEY (funnel, step, day, channel, device_type, visitor)
);

-- Retention deletes funnel_visitors rows of old days (they name visitors,
-- if by a hash); reports from a day before kept_from cannot count exactly.
CREATE TABLE funnel_visitors_kept (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    kept_from date    NOT NULL
);

-- ---- funnel_report, with visitors distinct ----

DROP FUNCTION funnel_report(text, timestamptz, timestamptz, text, text);

-- The largest attempts count of a step for which funnel_report counts its
-- visitors exactly (from funnel_visitors: at most that many rows per step).
CREATE FUNCTION funnel_exact_max() RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 65536::bigint $$;

-- One funnel over a time range: a row per step of funnel_definitions.steps,
-- in order, listed whether anything reached it or not. What a step counts:
--   strict order: the attempts that reached steps 1..k in order (a step
--       skipped on the way counts as reached, inferred);
--   any order: the attempts that reached at least k distinct steps of the
--       funnel within its window, whichever they were: step_name says so
--       ("at least 2 of 3 steps").
-- Columns:
--   visitors: distinct visitors whose attempts reached the step in the range
--       (a visitor counts once however many attempts it made). Exact when the
--       step's attempts in the range are at most funnel_exact_max() (65536)
--       and funnel_visitors still holds the range's first day (retention);
--       else estimated from the visitor sets, within about 0.3% (standard
--       error) and, measured, within 1% (scripts/bench journey). An estimate
--       is clamped to the step's attempts and to the previous step's
--       visitors: the exact sets are nested (a visitor at step k reached
--       step k - 1 in the same attempt), so visitors never rise from a step
--       to the next. Rows written before migration 008 add their attempts.
--   exact: whether visitors and inferred are exact counts;
--   attempts, sessions, abandoned: sums of funnel_daily's columns (an attempt
--       counts on the UTC day it started, with its first step's channel and
--       device); inferred: distinct visitors that reached the step inferred;
--   conversion_from_previous: visitors / the previous step's visitors;
--   drop_off: the previous step's visitors - visitors (never negative);
--   drop_off_rate: drop_off / the previous step's visitors;
--   median_seconds_from_previous: funnel_hist_median of the step's summed
--       since_prev_hist (in any order: from the previous distinct step);
-- the four of them NULL for step 1, the rates also when the previous step
-- has 0 visitors, the median also when no time was measured.
--
-- The range is [from_ts, to_ts) in whole UTC days, read as in 005 (the day
-- holding from_ts counts, the day holding to_ts unless to_ts is its
-- midnight). channel and device_type, when not NULL, keep only the rows of
-- that channel or device. Errors: an unknown funnel, a NULL bound, from_ts
-- after to_ts. Without a filter the sets come from funnel_daily_visitors
-- (days x steps rows), with one from funnel_daily (days x steps x the
-- channels and devices kept).
CREATE FUNCTION funnel_report(funnel text, from_ts timestamptz, to_ts timestamptz,
                              channel text DEFAULT NULL, device_type text DEFAULT NULL)
    RETURNS TABLE (step integer, step_name text, visitors bigint, attempts bigint, sessions bigint,
                   conversion_from_previous double precision, drop_off bigint,
                   drop_off_rate double precision, median_seconds_from_previous double precision,
                   inferred bigint, abandoned bigint, exact boolean)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
#variable_conflict use_column
DECLARE
    step_names text[];
    is_strict boolean;
    to_utc timestamp;
    first_day date;
    end_day date; -- the first day not read
    kept date;
    unfiltered constant boolean := funnel_report.channel IS NULL
                                   AND funnel_report.device_type IS NULL;
    exact_steps integer[];
BEGIN
    IF from_ts IS NULL OR to_ts IS NULL THEN
        RAISE EXCEPTION 'funnel_report: from_ts and to_ts are required'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF from_ts > to_ts THEN
        RAISE EXCEPTION 'funnel_report: from_ts (%) is after to_ts (%)', from_ts, to_ts
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT d.steps, d.strict INTO step_names, is_strict
      FROM funnel_definitions d WHERE d.funnel = funnel_report.funnel;
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

    -- Exact counts read funnel_visitors: only where retention left the
    -- range's days there, and for steps with few enough attempts.
    SELECT k.kept_from INTO kept FROM funnel_visitors_kept k;
    IF kept IS NULL OR first_day >= kept THEN
        SELECT array_agg(a.step) INTO exact_steps
          FROM (SELECT fd.step::integer AS step
                  FROM funnel_daily fd
                 WHERE fd.funnel = funnel_report.funnel
                   AND fd.day >= first_day AND fd.day < end_day
                   AND (funnel_report.channel IS NULL OR fd.channel = funnel_report.channel)
                   AND (funnel_report.device_type IS NULL
                        OR fd.device_type = funnel_report.device_type)
                   AND fd.visitors_hll IS NOT NULL
                 GROUP BY fd.step
                HAVING sum(fd.attempts) <= funnel_exact_max()) a;
    END IF;

    RETURN QUERY
    WITH sums AS (
        SELECT fd.step::integer AS step,
               sum(fd.attempts)::bigint AS attempts,
               sum(fd.sessions)::bigint AS sessions,
               sum(fd.inferred)::bigint AS inferred_attempts,
               sum(fd.abandoned)::bigint AS abandoned,
               coalesce(sum(fd.attempts) FILTER (WHERE fd.visitors_hll IS NULL), 0)::bigint
                   AS old_attempts,
               coalesce(sum(fd.inferred) FILTER (WHERE fd.visitors_hll IS NULL), 0)::bigint
                   AS old_inferred,
               funnel_hist_sum(fd.since_prev_hist) AS hist
          FROM funnel_daily fd
         WHERE fd.funnel = funnel_report.funnel
           AND fd.day >= first_day AND fd.day < end_day
           AND (funnel_report.channel IS NULL OR fd.channel = funnel_report.channel)
           AND (funnel_report.device_type IS NULL OR fd.device_type = funnel_report.device_type)
         GROUP BY fd.step
    ), sets AS (
        SELECT v.step::integer AS step,
               hll_cardinality(hll_union_agg(v.visitors_hll)) AS est,
               hll_cardinality(hll_union_agg(v.inferred_hll)) AS est_inferred
          FROM funnel_daily_visitors v
         WHERE unfiltered AND v.funnel = funnel_report.funnel
           AND v.day >= first_day AND v.day < end_day
         GROUP BY v.step
        UNION ALL
        SELECT fd.step::integer,
               hll_cardinality(hll_union_agg(fd.visitors_hll)),
               hll_cardinality(hll_union_agg(fd.inferred_hll))
          FROM funnel_daily fd
         WHERE NOT unfiltered AND fd.funnel = funnel_report.funnel
           AND fd.day >= first_day AND fd.day < end_day
           AND (funnel_report.channel IS NULL OR fd.channel = funnel_report.channel)
           AND (funnel_report.device_type IS NULL OR fd.device_type = funnel_report.device_type)
           AND fd.visitors_hll IS NOT NULL
         GROUP BY fd.step
    ), exacts AS (
        SELECT x.step::integer AS step,
               count(DISTINCT x.visitor) AS n,
               count(DISTINCT x.visitor) FILTER (WHERE x.inferred) AS n_inferred
          FROM funnel_visitors x
         WHERE x.funnel = funnel_report.funnel
           AND x.step = ANY (coalesce(exact_steps, '{}'))
           AND x.day >= first_day AND x.day < end_day
           AND (funnel_report.channel IS NULL OR x.channel = funnel_report.channel)
           AND (funnel_report.device_type IS NULL OR x.device_type = funnel_report.device_type)
         GROUP BY x.step
    ), steps AS (
        SELECT s.n::integer AS step,
               CASE WHEN is_strict THEN s.name
                    ELSE format('at least %s of %s steps', s.n, cardinality(step_names)) END
                   AS step_name,
               coalesce(x.attempts, 0) AS attempts,
               coalesce(x.sessions, 0) AS sessions,
               coalesce(x.inferred_attempts, 0) AS inferred_attempts,
               coalesce(x.abandoned, 0) AS abandoned,
               x.hist,
               s.n = ANY (coalesce(exact_steps, '{}')) OR coalesce(x.attempts, 0) = 0 AS exact,
               -- Distinct visitors of the rows with sets, plus the attempts of
               -- the rows without, at most the attempts.
               least(coalesce(x.attempts, 0),
                     coalesce(x.old_attempts, 0)
                     + CASE WHEN s.n = ANY (coalesce(exact_steps, '{}')) THEN coalesce(e.n, 0)
                            ELSE round(coalesce(h.est, 0))::bigint END) AS raw_visitors,
               least(coalesce(x.inferred_attempts, 0),
                     coalesce(x.old_inferred, 0)
                     + CASE WHEN s.n = ANY (coalesce(exact_steps, '{}'))
                            THEN coalesce(e.n_inferred, 0)
                            ELSE round(coalesce(h.est_inferred, 0))::bigint END) AS raw_inferred
          FROM unnest(step_names) WITH ORDINALITY AS s(name, n)
               LEFT JOIN sums x ON x.step = s.n
               LEFT JOIN sets h ON h.step = s.n
               LEFT JOIN exacts e ON e.step = s.n
    ), clamped AS (
        SELECT st.*,
               min(st.raw_visitors) OVER (ORDER BY st.step ROWS UNBOUNDED PRECEDING) AS v
          FROM steps st
    ), prev AS (
        SELECT c.*, lag(c.v) OVER (ORDER BY c.step) AS pv FROM clamped c
    )
    SELECT p.step, p.step_name, p.v, p.attempts, p.sessions,
           CASE WHEN p.pv > 0 THEN p.v::double precision / p.pv END,
           p.pv - p.v,
           CASE WHEN p.pv > 0 THEN (p.pv - p.v)::double precision / p.pv END,
           CASE WHEN p.step > 1 THEN funnel_hist_median(p.hist) END,
           least(p.raw_inferred, p.v), p.abandoned, p.exact
      FROM prev p
     ORDER BY p.step;
END
$$;
