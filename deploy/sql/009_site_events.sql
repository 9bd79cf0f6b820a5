-- A site's own event names, and a report that counts a clock running ahead.
--
-- 1. Revenue. deploy/config/journeys.json names, in "conversions", the
-- event types that convert a session and the event_data property holding
-- each one's value (a shop's purchase and its price, say). A session's
-- revenue is the sum of its conversions' values, in the events' own unit
-- (no currency conversion), 0 when it has none or they carry no value; the
-- journey-builder writes it with the rest of the session's row.
ALTER TABLE sessions ADD COLUMN revenue numeric(20, 6) NOT NULL DEFAULT 0;

-- 2. sessions_by_channel_device, as in 005_funnels.sql, with each group's
-- revenue, and with the sessions a client clock ahead of the server's put in
-- the future. An event keeps its client time unless the collector found it
-- skewed too far (ANALYTICS_COLLECTOR_CLOCK_SKEW_S, a day by default), so a
-- visitor whose clock runs fast starts a session after now(): a range
-- ending at or after now() ("the last day, up to now") counts those too (an
-- empty range stays empty).
DROP FUNCTION sessions_by_channel_device(timestamptz, timestamptz);

-- Sessions by channel and device: the sessions that started in
-- [from_ts, to_ts) (exact times, not days), and when to_ts is at or after
-- now() also those that started later still (a client clock ahead of the
-- server's); bots left out, one row per channel and device with a missing
-- one shown as 'unknown', most sessions first. visitors counts distinct
-- fingerprints; bounce_rate and conversion_rate are bounced and converted
-- over sessions; avg_duration_s, page_views and revenue (the sum of the
-- sessions' conversion values) are over the sessions as they stand (one
-- still open counts with what it has so far). No rows for an empty range; a
-- NULL bound or from_ts after to_ts is an error, as for funnel_report.
CREATE FUNCTION sessions_by_channel_device(from_ts timestamptz, to_ts timestamptz)
    RETURNS TABLE (channel text, device_type text, sessions bigint, visitors bigint,
                   bounced bigint, converted bigint, bounce_rate double precision,
                   conversion_rate double precision, avg_duration_s double precision,
                   page_views bigint, revenue numeric)
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
           g.avg_duration_s, g.page_views, g.revenue
      FROM (SELECT coalesce(s.channel, 'unknown') AS channel,
                   coalesce(s.device_type, 'unknown') AS device_type,
                   count(*) AS sessions,
                   count(DISTINCT s.fingerprint) AS visitors,
                   count(*) FILTER (WHERE s.bounced) AS bounced,
                   count(*) FILTER (WHERE s.converted) AS converted,
                   avg(s.duration_s)::double precision AS avg_duration_s,
                   sum(s.page_views)::bigint AS page_views,
                   sum(s.revenue) AS revenue
              FROM sessions s
             WHERE s.started_at >= from_ts
               AND (s.started_at < to_ts OR (to_ts >= now() AND from_ts < to_ts))
               AND NOT s.is_bot
             GROUP BY 1, 2) g
     ORDER BY g.sessions DESC, g.channel, g.device_type;
END
$$;
