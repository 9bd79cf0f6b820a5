// The event types the tracker makes, as the pipeline's rules name them
// (deploy/config), and which consent each needs. Pure.

import type { Category } from './consent';

export const EVENTS = {
  pageView: 'page_view',
  scroll: 'scroll_milestone',
  click: 'click',
  form: 'form_interaction',
  exitIntent: 'exit_intent',
  rageClick: 'rage_click',
  sessionStart: 'session_start',
  sessionEnd: 'session_end',
  pricingViewed: 'pricing_viewed',
  serviceComparison: 'service_comparison',
  bookingStarted: 'booking_started',
  bookingAbandoned: 'booking_abandoned',
  bookingCompleted: 'booking_completed',
  contactViewed: 'contact_viewed',
  performance: 'page_performance',
  apiResponse: 'api_response_time',
  error: 'error_occurred',
  consent: 'consent_update',
  identify: 'identify',
} as const;

/** What may leave the page before (or without) consent: the consent record
 * itself and the site's own error reports (no identifier but a random
 * per-page one). Everything else needs analytics. */
const NECESSARY = new Set<string>([EVENTS.consent, EVENTS.error]);

/** The consent category of an event type (sites may add their own
 * necessary ones through track's options). */
export function categoryOf(type: string): Category {
  return NECESSARY.has(type) ? 'necessary' : 'analytics';
}

