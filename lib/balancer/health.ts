import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { withAuthQuery } from '../auth';
import { log } from '../debug';
import type { ResolvedBalancer } from './config';
import type { TargetRuntime } from './target';

const debug = log.extend('health');

/** The path a format's servers answer cheaply: Ollama's model list, llama.cpp / TGI `/health`, OpenAI's model list. */
export function defaultHealthPath(target: TargetRuntime): string {
  switch (target.parts.ctx.format) {
    case 'ollama':
      return '/api/tags';
    case 'raw':
      return '/health';
    case 'openai': {
      const p = target.url.pathname;
      const v1 = p.indexOf('/v1/');
      return v1 === -1 ? '/v1/models' : `${p.slice(0, v1)}/v1/models`;
    }
  }
}

/**
 * Active health checks: every `interval` each target gets a GET of its health path; a target
 * failing `unhealthy_threshold` checks in a row gets no traffic until it passes
 * `healthy_threshold` in a row. Timers are unref'd (they never keep the process alive) and
 * `close()` stops them and aborts checks in flight.
 */
export class HealthChecker {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly pending = new Set<ClientRequest>();
  private readonly streak = new Map<number, number>();
  /** Targets with a check in flight: checks never overlap, so one stall of the event loop fails one check, not several. */
  private readonly checking = new Set<number>();
  private closed = false;

  constructor(
    targets: TargetRuntime[],
    private readonly opts: ResolvedBalancer['health_checks'],
  ) {
    for (const t of targets) {
      const timer = setInterval(() => this.check(t), opts.interval);
      timer.unref();
      this.timers.push(timer);
      this.check(t);
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    for (const r of this.pending) r.destroy();
    this.pending.clear();
  }

  private check(t: TargetRuntime): void {
    if (this.closed || this.checking.has(t.index)) return;
    this.checking.add(t.index);
    const auth = t.parts.config.auth;
    const path = withAuthQuery(t.spec.health_check_path ?? defaultHealthPath(t), undefined, auth);
    const headers: Record<string, string> = { host: t.url.host };
    if (auth.header_name !== undefined && auth.header_value !== undefined) headers[auth.header_name] = auth.header_value;
    const request = t.url.protocol === 'https:' ? httpsRequest : httpRequest;
    let done = false;
    const settle = (ok: boolean, why: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.pending.delete(req);
      this.checking.delete(t.index);
      this.record(t, ok, why);
    };
    const req = request({
      protocol: t.url.protocol,
      hostname: t.url.hostname.replace(/^\[|\]$/g, ''),
      port: t.url.port || undefined,
      method: 'GET',
      path,
      headers,
      agent: t.agent,
    });
    this.pending.add(req);
    const timer = setTimeout(() => {
      settle(false, 'timed out');
      req.destroy();
    }, this.opts.timeout);
    timer.unref();
    req.on('response', (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      settle(status >= 200 && status < 300, `HTTP ${status}`);
    });
    req.on('error', (err: Error & { code?: string }) => settle(false, err.code ?? 'error'));
    req.end();
  }

  private record(t: TargetRuntime, ok: boolean, why: string): void {
    if (this.closed) return;
    // Positive streak counts passes, negative counts failures.
    const prev = this.streak.get(t.index) ?? 0;
    const streak = ok ? Math.max(prev, 0) + 1 : Math.min(prev, 0) - 1;
    this.streak.set(t.index, streak);
    if (t.healthy && streak <= -this.opts.unhealthy_threshold) {
      t.healthy = false;
      debug('target %s is unhealthy (%s)', t.name, why);
    } else if (!t.healthy && streak >= this.opts.healthy_threshold) {
      t.healthy = true;
      debug('target %s is healthy again', t.name);
    }
  }
}
