import type { RequestTimings } from './types';

/**
 * The `Server-Timing` value for what is known now: `aiproxy` (the gateway's own time so far)
 * and `upstream` (from sending the request to the upstream's last byte, or to its headers for a
 * stream, whose headers leave before the answer exists: marked `desc="headers"`).
 */
export function serverTiming(t: RequestTimings, now: number): string {
  const total = now - t.startedAt;
  if (t.upstreamSentAt === undefined) return `aiproxy;dur=${ms(total)}`;
  const upstreamUntil = t.upstreamEndAt ?? t.upstreamHeadersAt ?? now;
  const upstream = upstreamUntil - t.upstreamSentAt;
  const desc = t.upstreamEndAt === undefined && t.upstreamHeadersAt !== undefined ? ';desc="headers"' : '';
  return `aiproxy;dur=${ms(total - upstream)}, upstream;dur=${ms(upstream)}${desc}`;
}

function ms(n: number): string {
  return n > 0 ? n.toFixed(2) : '0';
}
