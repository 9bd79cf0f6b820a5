-- Every enriched event, archived by the journey-builder: one row per
-- analytics.v1.EnrichedEvent, partitioned by UTC day on the event's own time
-- so that retention drops whole partitions instead of deleting rows.
--
-- Keys: (event_id, event_time). A partitioned table's unique keys must hold
-- the partition key; the event time is part of the event, so a replay of the
-- same event lands in the same partition and INSERT ... ON CONFLICT DO
-- NOTHING (or COPY into a staging table, then that INSERT) makes the sink
-- idempotent on event_id.
--
-- No DEFAULT partition: a default partition holding rows for a day would make
-- creating that day's partition fail later. Instead the writer calls
-- analytics_ensure_partitions for the days of each batch before inserting it
-- (cheap: it creates only what is missing), and an event for a day with no
-- partition is an error the writer sees, never a silent catch-all.
--
-- Empty strings of the message are stored as NULL; enum values as their
-- lower-case names without prefix (CHANNEL_ORGANIC_SEARCH -> organic_search,
-- DEVICE_TYPE_MOBILE -> mobile).

CREATE TABLE analytics_events (
    event_id             text        NOT NULL,
    event_time           timestamptz NOT NULL,          -- event_ts_ms: the time downstream uses
    event_type           text        NOT NULL,
    fingerprint          text        NOT NULL,
    user_id              text,
    site_id              text,
    session_id           text,
    session_seq          integer CHECK (session_seq >= 0), -- 1-based position in the session
    session_new          boolean     NOT NULL DEFAULT false,
    session_start_reason text,                          -- first, idle, campaign, midnight, client
    session_client_assigned boolean  NOT NULL DEFAULT false,
    late                 boolean     NOT NULL DEFAULT false,
    client_time          timestamptz,
    received_at          timestamptz NOT NULL,
    enriched_at          timestamptz,
    clock_skew_ms        bigint      NOT NULL DEFAULT 0,
    historical           boolean     NOT NULL DEFAULT false,
    page_url             text,
    page_url_normalized  text,
    page_host            text,
    page_path            text,
    page_type            text,
    referrer_url         text,
    referrer_host        text,
    channel              text,                          -- direct, internal, organic_search, ...
    utm_source           text,
    utm_medium           text,
    utm_campaign         text,
    utm_term             text,
    utm_content          text,
    gclid                text,
    fbclid               text,
    msclkid              text,
    browser_family       text,
    browser_version      text,
    os_family            text,
    os_version           text,
    device_family        text,
    device_type          text,                          -- desktop, mobile, tablet, bot, unknown
    is_bot               boolean     NOT NULL DEFAULT false,
    bot_reason           text,                          -- ua, pattern, rate
    country_code         text,                          -- ISO 3166-1 alpha-2
    geo_source           text,
    -- The enricher's truncated address as a network: a.b.c.0/24 or x:y:z::/48.
    -- The check makes storing a full address impossible, whoever writes.
    ip_truncated         cidr CHECK (
                             (family(ip_truncated) = 4 AND masklen(ip_truncated) <= 24)
                             OR (family(ip_truncated) = 6 AND masklen(ip_truncated) <= 48)),
    event_data           jsonb       NOT NULL DEFAULT '{}',
    consent_specified    boolean     NOT NULL DEFAULT false,
    consent_necessary    boolean     NOT NULL DEFAULT false,
    consent_analytics    boolean     NOT NULL DEFAULT false,
    consent_marketing    boolean     NOT NULL DEFAULT false,
    schema_version       smallint    NOT NULL DEFAULT 1, -- of the EnrichedEvent message
    inserted_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, event_time)
) PARTITION BY RANGE (event_time);

-- A visitor's events in time order (journeys, profiles, erase and export).
CREATE INDEX analytics_events_fingerprint_time ON analytics_events (fingerprint, event_time);
-- A session's events in order.
CREATE INDEX analytics_events_session ON analytics_events (session_id, session_seq)
    WHERE session_id IS NOT NULL;
-- Erase and export by a known user.
CREATE INDEX analytics_events_user ON analytics_events (user_id, event_time)
    WHERE user_id IS NOT NULL;

-- The name of the partition holding one UTC day: analytics_events_pYYYYMMDD.
CREATE FUNCTION analytics_events_partition_name(day date) RETURNS text
    LANGUAGE sql STABLE STRICT
AS $$ SELECT 'analytics_events_p' || to_char(day, 'YYYYMMDD') $$;

-- Creates the missing daily partitions for from_day .. from_day + days_ahead
-- (UTC days, both included) and returns the names it created. Idempotent;
-- callers that race are serialised by a transaction-level advisory lock
-- (1634626676, 2), so each day is created once and nobody fails. Call it in
-- a short transaction of its own: the lock is held until that commits.
CREATE FUNCTION analytics_ensure_partitions(from_day date, days_ahead integer)
    RETURNS SETOF text
    LANGUAGE plpgsql
AS $$
DECLARE
    parent_schema text;
    day date;
    part text;
BEGIN
    IF from_day IS NULL OR days_ahead IS NULL OR days_ahead < 0 OR days_ahead > 3660 THEN
        RAISE EXCEPTION 'analytics_ensure_partitions(%, %): from_day is required and days_ahead is 0..3660',
            from_day, days_ahead;
    END IF;
    PERFORM pg_advisory_xact_lock(1634626676, 2);
    SELECT n.nspname INTO parent_schema
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = 'analytics_events'::regclass;
    FOR k IN 0 .. days_ahead LOOP
        day := from_day + k;
        part := analytics_events_partition_name(day);
        CONTINUE WHEN EXISTS (
            SELECT 1 FROM pg_inherits inh JOIN pg_class c ON c.oid = inh.inhrelid
             WHERE inh.inhparent = 'analytics_events'::regclass AND c.relname = part);
        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.analytics_events FOR VALUES FROM (%L) TO (%L)',
                       parent_schema, part, parent_schema,
                       to_char(day, 'YYYY-MM-DD') || ' 00:00:00+00',
                       to_char(day + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
        RETURN NEXT part;
    END LOOP;
END
$$;

-- Drops every daily partition whose day is before cutoff (a UTC date) and
-- returns the dropped names, oldest first: retention without row deletes.
-- The journey-builder calls it with current UTC date - ANALYTICS_RETENTION_DAYS.
-- Only partitions named analytics_events_pYYYYMMDD are considered.
CREATE FUNCTION analytics_drop_partitions_before(cutoff date)
    RETURNS SETOF text
    LANGUAGE plpgsql
AS $$
DECLARE
    part record;
BEGIN
    IF cutoff IS NULL THEN
        RAISE EXCEPTION 'analytics_drop_partitions_before: cutoff is required';
    END IF;
    PERFORM pg_advisory_xact_lock(1634626676, 2);
    FOR part IN
        SELECT c.oid::regclass AS rel, c.relname::text AS name
          FROM pg_inherits inh JOIN pg_class c ON c.oid = inh.inhrelid
         WHERE inh.inhparent = 'analytics_events'::regclass
           AND CASE WHEN c.relname ~ '^analytics_events_p[0-9]{8}$'
                    THEN to_date(right(c.relname, 8), 'YYYYMMDD') < cutoff
                    ELSE false END
         ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE %s', part.rel);
        RETURN NEXT part.name;
    END LOOP;
END
$$;

-- Yesterday to a week ahead, so a fresh database takes events at once
-- (analytics-migrate repeats this on every run).
SELECT analytics_ensure_partitions((now() AT TIME ZONE 'UTC')::date - 1, 8);
