-- Data-subject requests (GDPR/CCPA): erase, export, consent change. The
-- push-gateway records a request and publishes it on analytics.privacy;
-- every daemon that holds data carries it out for its own tables and records
-- its step, so "done everywhere" is a query, and a replayed request finds
-- its step already there (ON CONFLICT DO NOTHING).
--
-- The request keeps the identifiers it names (that is its audit trail) and
-- nothing else about the person.

CREATE TABLE privacy_requests (
    request_id      text        PRIMARY KEY,
    action          text        NOT NULL CHECK (action IN ('erase', 'export', 'consent_change')),
    fingerprint     text,
    user_id         text,
    requested_by    text        NOT NULL,               -- operator, or the visitor's own request
    requested_at    timestamptz NOT NULL,
    cause_event_id  text,                               -- when an event asked for it
    consent         jsonb,                              -- the new consent, for consent_change
    status          text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'in_progress', 'completed', 'failed')),
    completed_at    timestamptz,
    error           text,
    export_uri      text,                               -- where the export was written
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (fingerprint IS NOT NULL OR user_id IS NOT NULL),
    CHECK (action <> 'consent_change' OR consent IS NOT NULL)
);

-- Requests about one visitor or user.
CREATE INDEX privacy_requests_fingerprint ON privacy_requests (fingerprint) WHERE fingerprint IS NOT NULL;
CREATE INDEX privacy_requests_user ON privacy_requests (user_id) WHERE user_id IS NOT NULL;
-- Open requests, oldest first (deadlines run from requested_at).
CREATE INDEX privacy_requests_open ON privacy_requests (requested_at)
    WHERE status IN ('pending', 'in_progress');

-- One row per request and service that carried it out.
CREATE TABLE privacy_request_steps (
    request_id      text        NOT NULL REFERENCES privacy_requests (request_id) ON DELETE CASCADE,
    service         text        NOT NULL,               -- analytics-scorer, analytics-journey-builder, ...
    status          text        NOT NULL CHECK (status IN ('completed', 'failed')),
    rows_affected   bigint      NOT NULL DEFAULT 0 CHECK (rows_affected >= 0),
    detail          text,
    done_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, service)
);
