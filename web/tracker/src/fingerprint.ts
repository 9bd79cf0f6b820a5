// The device fingerprint, from ThumbmarkJS (npm @thumbmarkjs/thumbmarkjs):
// built as a chunk of its own (analytics-fingerprint.js), loaded only when a
// visitor granted analytics and has no stored fingerprint yet. Nothing is
// sent anywhere: no API key, and ThumbmarkJS's sampled logging (a request
// to its makers' server) is off. WebRTC and the permissions probes are
// left out: slow, and WebRTC opens a peer connection.

import { Thumbmark } from '@thumbmarkjs/thumbmarkjs';

/** The fingerprint hash of this browser. Rejects when it cannot be made. */
export async function fingerprint(): Promise<string> {
  const tm = new Thumbmark({ logging: false, timeout: 2500, exclude: ['webrtc', 'permissions'] });
  const r = await tm.get();
  if (!r.thumbmark) throw new Error('no fingerprint');
  return r.thumbmark;
}
