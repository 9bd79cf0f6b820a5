// Rage clicks: count or more clicks within windowMs, all within radius px
// of the first. Pure: clicks come in with their time and page position.
//
// A burst goes on while each click comes within windowMs of the one before
// and inside the radius; it is a rage click when some count consecutive
// clicks of it span at most windowMs. It is reported once it is over (the
// next click is late or elsewhere, or due() finds it ended), with all its
// clicks counted.

export interface RageOptions {
  count: number;
  windowMs: number;
  radius: number;
}

export interface Burst<T> {
  /** what was clicked first (the caller's description of the element) */
  target: T;
  x: number;
  y: number;
  clicks: number;
  first: number;
  last: number;
}

interface Open<T> extends Burst<T> {
  times: number[];
  rage: boolean;
}

export const RAGE_DEFAULTS: RageOptions = { count: 3, windowMs: 600, radius: 30 };

export class RageClicks<T> {
  private open: Open<T> | null = null;

  constructor(private readonly o: RageOptions = RAGE_DEFAULTS) {}

  /** A click at time t (ms) and page position x, y on target. Returns the
   * rage burst this click ended, if any. */
  click(t: number, x: number, y: number, target: T): Burst<T> | null {
    const b = this.open;
    if (b && t - b.last <= this.o.windowMs && Math.hypot(x - b.x, y - b.y) <= this.o.radius) {
      b.clicks++;
      b.last = t;
      b.times.push(t);
      if (b.times.length > this.o.count) b.times.shift();
      if (b.times.length >= this.o.count && t - b.times[0]! <= this.o.windowMs) b.rage = true;
      return null;
    }
    const ended = this.close();
    this.open = { target, x, y, clicks: 1, first: t, last: t, times: [t], rage: this.o.count <= 1 };
    return ended;
  }

  /** The rage burst that is over by time t (no click for windowMs), if any. */
  due(t: number): Burst<T> | null {
    if (this.open && t - this.open.last > this.o.windowMs) return this.close();
    return null;
  }

  /** Ends the burst in progress (the page is going away): the rage burst,
   * if it was one. */
  flush(): Burst<T> | null {
    return this.close();
  }

  /** When the burst in progress ends if no click comes, or null. */
  get deadline(): number | null {
    return this.open ? this.open.last + this.o.windowMs + 1 : null;
  }

  private close(): Burst<T> | null {
    const b = this.open;
    this.open = null;
    if (!b || !b.rage) return null;
    return { target: b.target, x: b.x, y: b.y, clicks: b.clicks, first: b.first, last: b.last };
  }
}
