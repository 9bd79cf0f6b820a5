// What every view is given: the API, the page's one WebSocket, the viewer's
// time zone, and hooks tied to the view's life (cleanups when it is left,
// retries once the gateway is back after a drop).
import type { Api } from './api';
import type { LiveSocket } from './socket';

export interface Ctx {
  api: Api;
  socket: LiveSocket;
  tz: string;
  /** Runs fn when the view is left (unsubscribe, dispose charts). */
  onLeave(fn: () => void): void;
  /** Runs fn once the WebSocket is open again after a drop (the gateway is back), while the view stays. */
  whenBack(fn: () => void): void;
  /** Whether the view is still the one shown (async work checks before drawing). */
  live(): boolean;
  /** The element that announces changes to screen readers. */
  announce(text: string): void;
}

export interface View {
  title: string;
  render(root: HTMLElement, ctx: Ctx, params: string[]): void | Promise<void>;
}
