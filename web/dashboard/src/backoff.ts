// When to try a dropped WebSocket again: exponential backoff with "full
// jitter" (a random delay up to the exponential bound), so a gateway that
// comes back is not met by every dashboard in the same millisecond.

export interface Backoff {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 500, capMs: 15000 };

/**
 * The delay before retry number attempt (0 for the first retry), given a
 * random number in [0, 1). At least baseMs / 2, at most capMs.
 */
export function backoffDelay(attempt: number, random: number, b: Backoff = DEFAULT_BACKOFF): number {
  const bound = Math.min(b.capMs, b.baseMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  const floor = b.baseMs / 2;
  return Math.round(floor + (bound - floor) * Math.min(Math.max(random, 0), 1));
}
