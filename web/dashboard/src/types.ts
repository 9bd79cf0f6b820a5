// The push-gateway's answers (deploy/openapi.json, README "The push-gateway"),
// as the dashboard reads them. Fields the dashboard does not use are left out.

export interface Realtime {
  generated_at: string;
  active_visitors: number;
  events_per_minute: { minute: string; events: number }[];
  top_pages: { page: string; views: number; visitors: number }[];
  top_referrers: { referrer: string; arrivals: number; visitors: number }[];
  conversions_today: { since: string; conversions: number; visitors: number; by_type: Record<string, number> };
  funnels: { funnel: string; steps: { step: number; name: string; visitors: number }[] | null }[];
}

export interface FunnelDef {
  name: string;
  strict: boolean;
  window_hours: number;
  steps: { step: number; name: string }[] | null;
}

export interface FunnelStep {
  step: number;
  name: string;
  visitors: number;
  attempts: number;
  sessions: number;
  conversion_from_previous: number | null;
  conversion_from_first: number | null;
  drop_off: number | null;
  drop_off_rate: number | null;
  median_seconds_from_previous: number | null;
  inferred: number;
  abandoned: number;
  exact: boolean;
}

export interface FunnelReport {
  funnel: string;
  from: string;
  to: string;
  channel: string | null;
  device: string | null;
  overall_conversion: number | null;
  steps: FunnelStep[] | null;
}

export interface Flow {
  source: string;
  target: string;
  transitions: number;
  visitors: number;
}

export interface Flows {
  from: string;
  to: string;
  visitors: number;
  converted: number;
  stages: Flow[];
  touchpoints: Flow[];
  drop_offs: { stage: string; visitors: number }[];
  top_paths: { path: string[]; visitors: number }[];
}

export interface JourneyStep {
  seq: number;
  occurred_at: string;
  stage: string;
  previous_stage: string | null;
  touchpoint: string;
  channel: string | null;
  page_url: string | null;
  session_id: string | null;
  time_spent_s: number | null;
  event_id: string;
}

export interface Journey {
  fingerprint: string;
  stage: string;
  touchpoints: number;
  journey: JourneyStep[];
  next_cursor: string | null;
}

export interface Lead {
  fingerprint: string;
  lead_score: number;
  conversion_probability: number | null;
  churn_risk: number | null;
  persona: string | null;
  journey_stage: string | null;
  sessions: number;
  bookings_completed: number;
  last_seen_at: string;
  reasons: string[] | null;
}

export interface AtRisk {
  fingerprint: string;
  churn_risk: number;
  p_alive: number | null;
  expected_visits: number | null;
  lead_score: number;
  persona: string | null;
  journey_stage: string | null;
  sessions: number;
  bookings_completed: number;
  last_seen_at: string;
}

export interface Segment {
  name: string;
  size: number;
  share: number | null;
  description: string | null;
  model_share: number | null;
  in_model: boolean;
}

export interface Prediction {
  predicted_at: string;
  lead_score: number;
  conversion_probability: number | null;
  churn_risk: number | null;
  segment: string | null;
  reasons: string[] | null;
  model_version: string;
}

export interface Insights {
  fingerprint: string;
  user_id: string | null;
  profile: {
    first_seen_at: string;
    last_seen_at: string;
    sessions: number;
    events: number;
    page_views: number;
    pricing_views: number;
    bookings_started: number;
    bookings_completed: number;
    forms_started: number;
    rage_clicks: number;
    exit_intents: number;
    deepest_scroll: number;
    returning_visitor: boolean;
    first_channel: string | null;
    first_device: string | null;
    page_types: Record<string, { views: number; seconds: number }> | null;
  };
  scores: {
    lead_score: number;
    conversion_probability: number | null;
    churn_risk: number | null;
    p_alive: number | null;
    expected_visits: number | null;
    model_version: string | null;
    reasons: string[] | null;
  };
  persona: string | null;
  journey_stage: string | null;
  sessions: { session_id: string; started_at: string; ended_at: string | null; page_views: number; converted: boolean }[];
  journey: { occurred_at: string; stage: string; touchpoint: string }[];
  predictions: Prediction[];
}

export interface SessionGroup {
  key: string | null;
  sessions: number;
  visitors: number;
  bounced: number;
  converted: number;
  bounce_rate: number | null;
  conversion_rate: number | null;
  avg_duration_s: number | null;
  page_views: number;
  revenue: number | null;
}

export interface SessionsReport {
  group_by: string;
  groups: SessionGroup[];
  next_cursor: string | null;
}

export interface PageRow {
  page: string | null;
  page_hash: number;
  views: number;
  unique_views: number;
  entrances: number;
  bounces: number;
  exits: number;
  bounce_rate: number | null;
  exit_rate: number | null;
  value: number | null;
  page_value: number | null;
}

export interface PrivacyRequest {
  request_id: string;
  action: string;
  fingerprint: string | null;
  user_id: string | null;
  requested_by?: string | null;
  requested_at?: string;
  status: string;
  completed_at?: string | null;
  error?: string | null;
  export_uri?: string | null;
  steps?: { service: string; status: string; rows_affected: number | null; done_at: string | null; detail: string | null }[];
}

/** An enriched event as the events channel carries it (proto field names). */
export interface EnrichedEvent {
  event_id: string;
  event_type: string;
  fingerprint: string;
  event_ts_ms?: number;
  received_ts_ms?: number;
  page_url?: string;
  referrer_url?: string;
  event_data_json?: string;
  ua?: { browser_family?: string; os_family?: string; device_type?: string };
  geo?: { country_code?: string };
  campaign?: { channel?: string; referrer_host?: string };
  page?: { host?: string; path?: string; page_type?: string };
  session?: { session_id?: string; new_session?: boolean };
  bot?: { is_bot?: boolean };
}

/** A ScoreUpdate as the scores channel carries it. */
export interface ScoreUpdate {
  cause_event_id: string;
  fingerprint: string;
  ts_ms: number;
  lead_score: number;
  churn_risk: number;
  conversion_probability: number;
  segment: string;
  reasons?: string[];
}

/** A TriggerFired as the triggers channel carries it (proto/analytics/v1/trigger_fired.proto). */
export interface TriggerFired {
  cause_event_id?: string;
  trigger_id: string;
  rule: string;
  fingerprint: string;
  user_id?: string;
  ts_ms: number;
  action?: string;
  params?: Record<string, string>;
  lead_score?: number;
}

/** GET clicks: the pages with clicks that carry a position, and one page's grid. */
export interface Clicks {
  from: string;
  to: string;
  page: string | null;
  columns: number;
  row_px: number;
  rows: number;
  clicks: number;
  pages: { page: string; clicks: number }[];
  cells: { column: number; row: number; clicks: number }[];
}
