-- The scorer's tables: behaviour profiles, model predictions and marketing
-- triggers. The hot profile state lives in Redis; these are its durable
-- copy and history. Scores follow score_update.proto and triggers
-- trigger_fired.proto: lead score 0..100, probabilities 0..1.

-- One row per visitor, upserted on fingerprint.
CREATE TABLE user_behavior_profiles (
    fingerprint            text        PRIMARY KEY,
    user_id                text,
    first_seen_at          timestamptz NOT NULL,
    last_seen_at           timestamptz NOT NULL,
    sessions               integer     NOT NULL DEFAULT 0 CHECK (sessions >= 0),
    events                 integer     NOT NULL DEFAULT 0 CHECK (events >= 0),
    page_views             integer     NOT NULL DEFAULT 0 CHECK (page_views >= 0),
    total_time_s           bigint      NOT NULL DEFAULT 0 CHECK (total_time_s >= 0),
    pricing_views          integer     NOT NULL DEFAULT 0 CHECK (pricing_views >= 0),
    bookings_started       integer     NOT NULL DEFAULT 0 CHECK (bookings_started >= 0),
    bookings_completed     integer     NOT NULL DEFAULT 0 CHECK (bookings_completed >= 0),
    journey_stage          text,
    lead_score             smallint    NOT NULL DEFAULT 0 CHECK (lead_score BETWEEN 0 AND 100),
    churn_risk             real        CHECK (churn_risk BETWEEN 0 AND 1),
    conversion_probability real        CHECK (conversion_probability BETWEEN 0 AND 1),
    segment                text,                        -- the behavioural persona
    features               jsonb       NOT NULL DEFAULT '{}', -- the scorer's feature values
    model_version          text,
    last_event_id          text,                        -- the cause of the latest update
    last_event_at          timestamptz,                 -- its event time: older replays are skipped
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (last_seen_at >= first_seen_at)
);

-- The best leads first (dashboards, "high score and no booking" triggers).
CREATE INDEX user_behavior_profiles_lead_score ON user_behavior_profiles (lead_score DESC, last_seen_at DESC);
-- Visitors of one persona.
CREATE INDEX user_behavior_profiles_segment ON user_behavior_profiles (segment) WHERE segment IS NOT NULL;
-- Recency (churn, retention).
CREATE INDEX user_behavior_profiles_last_seen ON user_behavior_profiles (last_seen_at);
-- Erase and export by a known user.
CREATE INDEX user_behavior_profiles_user ON user_behavior_profiles (user_id) WHERE user_id IS NOT NULL;

-- The history of predictions, one per scored event and model: what the
-- model said and why, for explanations and for judging models later.
CREATE TABLE ml_predictions (
    cause_event_id         text        NOT NULL,
    model_version          text        NOT NULL,
    fingerprint            text        NOT NULL,
    user_id                text,
    predicted_at           timestamptz NOT NULL,
    lead_score             smallint    NOT NULL CHECK (lead_score BETWEEN 0 AND 100),
    churn_risk             real        NOT NULL CHECK (churn_risk BETWEEN 0 AND 1),
    conversion_probability real        NOT NULL CHECK (conversion_probability BETWEEN 0 AND 1),
    segment                text,
    reasons                text[]      NOT NULL DEFAULT '{}', -- strongest contributions
    features               jsonb       NOT NULL DEFAULT '{}',
    inserted_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cause_event_id, model_version)               -- replays change nothing
);

-- A visitor's predictions, newest first.
CREATE INDEX ml_predictions_fingerprint_time ON ml_predictions (fingerprint, predicted_at DESC);
-- Model evaluation over a period, and retention.
CREATE INDEX ml_predictions_predicted_at ON ml_predictions (predicted_at);
CREATE INDEX ml_predictions_user ON ml_predictions (user_id) WHERE user_id IS NOT NULL;

-- Every trigger that fired, with its delivery state.
CREATE TABLE marketing_triggers (
    trigger_id      text        PRIMARY KEY,            -- unique per firing: sinks dedup on it
    rule            text        NOT NULL,               -- rule name from the rules file
    fingerprint     text        NOT NULL,
    user_id         text,
    cause_event_id  text        NOT NULL,
    fired_at        timestamptz NOT NULL,
    action          text        NOT NULL,               -- email, webhook, ...
    params          jsonb       NOT NULL DEFAULT '{}',
    lead_score      smallint    CHECK (lead_score BETWEEN 0 AND 100),
    status          text        NOT NULL DEFAULT 'fired'
                    CHECK (status IN ('fired', 'delivered', 'failed', 'suppressed')),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    delivered_at    timestamptz,
    last_error      text,
    inserted_at     timestamptz NOT NULL DEFAULT now()
);

-- "Has this rule fired for this visitor lately?" (cooldowns).
CREATE INDEX marketing_triggers_fingerprint_rule ON marketing_triggers (fingerprint, rule, fired_at DESC);
-- Firings of a rule over time (reports).
CREATE INDEX marketing_triggers_rule_time ON marketing_triggers (rule, fired_at);
-- What still waits for delivery.
CREATE INDEX marketing_triggers_undelivered ON marketing_triggers (fired_at)
    WHERE status = 'fired';
CREATE INDEX marketing_triggers_user ON marketing_triggers (user_id) WHERE user_id IS NOT NULL;
