// Sessions: a visit ends after timeoutMs without an event (30 minutes, as
// the enricher counts them). With analytics consent the session lives in
// first-party storage, shared by the site's tabs; without, it is the page
// load. Pure: the state is read and written by the caller.

export interface Session {
  id: string;
  /** ms since the epoch */
  start: number;
  last: number;
  page_views: number;
  events: number;
}

export interface Touch {
  session: Session;
  /** the session that had timed out before this event, to end */
  ended: Session | null;
  /** this event starts session */
  started: boolean;
}

/** The session for an event at now: s (null: none stored) goes on when its
 * last event is less than timeoutMs ago, else a new one (id newId) starts.
 * pageView counts the event as a page view. Returns a new state. */
export function touchSession(
  s: Session | null,
  now: number,
  timeoutMs: number,
  newId: () => string,
  pageView: boolean,
): Touch {
  const live = s !== null && now - s.last < timeoutMs && now >= s.start - 60_000;
  if (live) {
    return {
      session: {
        ...s,
        last: Math.max(s.last, now),
        events: s.events + 1,
        page_views: s.page_views + (pageView ? 1 : 0),
      },
      ended: null,
      started: false,
    };
  }
  return {
    session: { id: newId(), start: now, last: now, events: 1, page_views: pageView ? 1 : 0 },
    ended: s,
    started: true,
  };
}

/** Whether s has timed out by now. */
export function sessionExpired(s: Session | null, now: number, timeoutMs: number): boolean {
  return s !== null && now - s.last >= timeoutMs;
}

/** Parses a stored session; null when absent or malformed. */
export function parseSession(text: string | null): Session | null {
  if (!text) return null;
  try {
    const o = JSON.parse(text) as Partial<Session>;
    if (
      typeof o.id === 'string' &&
      typeof o.start === 'number' &&
      typeof o.last === 'number' &&
      typeof o.page_views === 'number' &&
      typeof o.events === 'number'
    ) {
      return { id: o.id, start: o.start, last: o.last, page_views: o.page_views, events: o.events };
    }
  } catch {
    /* fall through */
  }
  return null;
}
