/**
 * The package's public surface, as `import … from 'express-ai-proxy'` sees it: every value the README
 * documents is exported, and nothing else slips in unnoticed (a new export is a decision, made here).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as api from '../../lib/index';
import * as router from '../../lib/router';

test('the public surface: exactly the documented values', () => {
  assert.deepEqual(Object.keys(api).sort(), [
    'AiProxyConfigError',
    'KongRoutes',
    'REQUEST_ID_HEADER',
    'aiProxy',
    'aiProxyMetrics',
    'aiProxyRouter',
    'coerceConfig',
    'configWarnings',
    'kongRoutes',
    'loadRoutes',
    'parseKongRoutes',
    'validateBalancedConfig',
    'validateConfig',
  ]);
  for (const [name, value] of Object.entries(api)) {
    if (name === 'REQUEST_ID_HEADER') assert.equal(value, 'x-request-id');
    else assert.equal(typeof value, 'function', `${name} is a function or class`);
  }
  assert.equal(router.aiProxyRouter, api.aiProxyRouter);
});

test('the config error is the one class thrown by aiProxy() and validateConfig()', () => {
  for (const make of [() => api.aiProxy({} as never), () => api.validateConfig({} as never)]) {
    assert.throws(make, (err: unknown) => err instanceof api.AiProxyConfigError && err.code === 'ERR_AI_PROXY_CONFIG' && err.details.length > 0);
  }
});
