// First-party storage (localStorage) as the queue's KV, or null where the
// browser refuses it (disabled, private modes that throw, sandboxed frames).

import type { KV } from './queue';

export function localKV(): KV | null {
  let ls: Storage;
  try {
    ls = window.localStorage;
    ls.getItem('_an.consent'); // throws where storage is refused; a write that does not fit fails later, alone
  } catch {
    return null;
  }
  return {
    get(k) {
      try {
        return ls.getItem(k);
      } catch {
        return null;
      }
    },
    set(k, v) {
      try {
        ls.setItem(k, v);
        return true;
      } catch {
        return false;
      }
    },
    remove(k) {
      try {
        ls.removeItem(k);
      } catch {
        /* nothing to do */
      }
    },
    keys() {
      const out: string[] = [];
      try {
        for (let i = 0; i < ls.length; i++) {
          const k = ls.key(i);
          if (k !== null) out.push(k);
        }
      } catch {
        /* none readable */
      }
      return out;
    },
  };
}
