-- Sessions and journeys, owned by the journey-builder.
--
-- Both are written idempotently: a session is upserted on session_id (a
-- replayed event recomputes the same aggregate), a journey step is keyed by
-- the event that made it, so INSERT ... ON CONFLICT DO NOTHING absorbs
-- replays. Retention deletes old rows by time here: these tables hold one
-- row per session or touchpoint, far fewer than analytics_events.

-- One row per session (SessionSummary in journey_update.proto), upserted
-- while it is open and marked closed when the journey-builder closes it.
CREATE TABLE sessions (
    session_id      text        PRIMARY KEY,
    fingerprint     text        NOT NULL,
    user_id         text,
    site_id         text,
    started_at      timestamptz NOT NULL,
    ended_at        timestamptz NOT NULL,               -- time of the last event so far
    duration_s      integer     NOT NULL DEFAULT 0 CHECK (duration_s >= 0),
    page_views      integer     NOT NULL DEFAULT 0 CHECK (page_views >= 0),
    events          integer     NOT NULL DEFAULT 0 CHECK (events >= 0),
    entry_page      text,
    exit_page       text,
    channel         text,                               -- of the session's first event
    referrer_host   text,
    utm_source      text,
    utm_medium      text,
    utm_campaign    text,
    device_type     text,
    country_code    text,
    is_bot          boolean     NOT NULL DEFAULT false,
    bounced         boolean     NOT NULL DEFAULT false,
    converted       boolean     NOT NULL DEFAULT false,
    closed          boolean     NOT NULL DEFAULT false,
    last_event_id   text,                               -- the cause of the latest update
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (ended_at >= started_at)
);

-- A visitor's sessions, newest last (journeys, profiles, erase, export).
CREATE INDEX sessions_fingerprint_started ON sessions (fingerprint, started_at);
-- Time-range reports and retention.
CREATE INDEX sessions_started_at ON sessions (started_at);
-- Erase and export by a known user.
CREATE INDEX sessions_user ON sessions (user_id) WHERE user_id IS NOT NULL;
-- Open sessions by last activity: what the idle closer scans.
CREATE INDEX sessions_open_ended_at ON sessions (ended_at) WHERE NOT closed;

-- One row per touchpoint of a visitor's journey: the event that made it, its
-- journey stage (awareness, interest, consideration, conversion), the
-- touchpoint (a page type or an action), its place in the visitor's journey
-- and the time spent on it (NULL until the next touchpoint or the session's
-- end tells).
CREATE TABLE customer_journeys (
    event_id        text        PRIMARY KEY,
    fingerprint     text        NOT NULL,
    user_id         text,
    session_id      text,
    seq             integer     NOT NULL CHECK (seq >= 1),  -- 1-based, per fingerprint
    stage           text        NOT NULL,
    previous_stage  text,
    touchpoint      text        NOT NULL,
    channel         text,
    page_url        text,
    occurred_at     timestamptz NOT NULL,
    time_spent_s    integer     CHECK (time_spent_s >= 0),
    inserted_at     timestamptz NOT NULL DEFAULT now()
);

-- A visitor's journey in order.
CREATE INDEX customer_journeys_fingerprint_seq ON customer_journeys (fingerprint, seq);
-- A session's touchpoints in order.
CREATE INDEX customer_journeys_session ON customer_journeys (session_id, occurred_at)
    WHERE session_id IS NOT NULL;
-- Stage counts over time (dashboards) and retention.
CREATE INDEX customer_journeys_occurred_at ON customer_journeys (occurred_at);
-- Erase and export by a known user.
CREATE INDEX customer_journeys_user ON customer_journeys (user_id) WHERE user_id IS NOT NULL;
