import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { applyAuthBody, applyAuthHeader, queryAuthIsPerRequest, secretsOf, withAuthQuery } from '../../lib/auth';
import { validateConfig, type ResolvedConfig } from '../../lib/config';
import type { AuthConfig } from '../../lib/types';

type Auth = ResolvedConfig['auth'];

/** The auth section as `aiProxy()` holds it, resolved by the real validation. */
function auth(a: AuthConfig): Auth {
  return validateConfig({
    route_type: 'llm/v1/chat',
    model: { provider: 'llama2', options: { llama2_format: 'raw', upstream_url: 'http://127.0.0.1:8080/generate' } },
    auth: a,
  }).auth;
}

/**
 * The headers a real ClientRequest would send after `applyAuthHeader`. The request is never
 * ended and is destroyed at once, so nothing goes on the wire.
 */
function upstreamHeaders(clientHeaders: IncomingHttpHeaders, a: Auth, preset: Record<string, string> = {}): Record<string, unknown> {
  const proxyReq: ClientRequest = request({ host: '127.0.0.1', port: 9, agent: false, headers: preset });
  proxyReq.on('error', () => undefined);
  try {
    applyAuthHeader(proxyReq, clientHeaders, a);
    // Node adds `host` itself; it is not ours to check.
    const { host: _host, ...headers } = proxyReq.getHeaders();
    return headers;
  } finally {
    proxyReq.destroy();
  }
}

describe('applyAuthHeader', () => {
  const bearer = auth({ header_name: 'Authorization', header_value: 'Bearer hf_secret' });
  const overridable = auth({ header_name: 'x-api-key', header_value: 'configured', allow_override: true });

  const cases: Array<[string, IncomingHttpHeaders, Auth, Record<string, string>, Record<string, unknown>]> = [
    ['sets the configured header', {}, bearer, {}, { authorization: 'Bearer hf_secret' }],
    [
      "replaces the client's own value (forwarded by the proxy) without allow_override",
      { authorization: 'Bearer client' },
      bearer,
      { Authorization: 'Bearer client' },
      { authorization: 'Bearer hf_secret' },
    ],
    [
      "keeps the client's own value with allow_override",
      { 'x-api-key': 'from-client' },
      overridable,
      { 'x-api-key': 'from-client' },
      { 'x-api-key': 'from-client' },
    ],
    ['sets it with allow_override when the client sent none', { 'content-type': 'application/json' }, overridable, {}, { 'x-api-key': 'configured' }],
    ['does nothing without header auth', { authorization: 'Bearer client' }, auth({}), { Authorization: 'Bearer client' }, { authorization: 'Bearer client' }],
    ['does nothing with only param auth', {}, auth({ param_name: 'key', param_value: 'v', param_location: 'query' }), {}, {}],
  ];
  for (const [name, clientHeaders, a, preset, expected] of cases) {
    test(name, () => {
      assert.deepEqual(upstreamHeaders(clientHeaders, a, preset), expected);
    });
  }
});

describe('withAuthQuery', () => {
  const key = auth({ param_name: 'key', param_value: 'k-123', param_location: 'query' });
  const encoded = auth({ param_name: 'api_key', param_value: 'a b+c&d=e', param_location: 'query' });
  const overridable = auth({ param_name: 'key', param_value: 'k-123', param_location: 'query', allow_override: true });

  const cases: Array<[string, string, string | undefined, Auth, string]> = [
    ['added to a path without a query', '/generate', undefined, key, '/generate?key=k-123'],
    ['appended to an existing query', '/generate?wait=1', undefined, key, '/generate?wait=1&key=k-123'],
    ['replaces a value already in upstream_url, in place', '/generate?key=old&wait=1', undefined, key, '/generate?key=k-123&wait=1'],
    ['encoded as a query value', '/generate', undefined, encoded, '/generate?api_key=a%20b%2Bc%26d%3De'],
    ["the client's value is ignored without allow_override", '/generate', '/llama2?key=mine', key, '/generate?key=k-123'],
    ["the client's value is used with allow_override", '/generate', '/llama2?key=mine', overridable, '/generate?key=mine'],
    ['allow_override, client query without the param: the configured value', '/generate', '/llama2?other=1', overridable, '/generate?key=k-123'],
    ['allow_override, client URL without a query', '/generate?wait=1', '/llama2', overridable, '/generate?wait=1&key=k-123'],
    ['untouched without query auth', '/generate?wait=1', '/llama2?key=mine', auth({}), '/generate?wait=1'],
    ['untouched with body param auth', '/generate', undefined, auth({ param_name: 'key', param_value: 'v', param_location: 'body' }), '/generate'],
  ];
  for (const [name, basePath, clientUrl, a, expected] of cases) {
    test(name, () => {
      assert.equal(withAuthQuery(basePath, clientUrl, a), expected);
    });
  }

  test('the path depends on the request only with query auth and allow_override', () => {
    assert.deepEqual(
      [overridable, key, auth({ param_name: 'k', param_value: 'v', param_location: 'body', allow_override: true }), auth({ allow_override: true })].map(
        queryAuthIsPerRequest,
      ),
      [true, false, false, false],
    );
  });
});

describe('applyAuthBody', () => {
  const bodyKey = auth({ param_name: 'api_key', param_value: 'configured', param_location: 'body' });
  const overridable = auth({ param_name: 'api_key', param_value: 'configured', param_location: 'body', allow_override: true });

  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, Auth, Record<string, unknown>]> = [
    ['adds the configured param', { model: 'llama2', prompt: 'Hi' }, {}, bodyKey, { model: 'llama2', prompt: 'Hi', api_key: 'configured' }],
    [
      'replaces a value the client sent (passed through) without allow_override',
      { model: 'm', api_key: 'mine' },
      { api_key: 'mine' },
      bodyKey,
      { model: 'm', api_key: 'configured' },
    ],
    ["keeps the client's value with allow_override", { model: 'm' }, { api_key: 'mine' }, overridable, { model: 'm', api_key: 'mine' }],
    ['allow_override, the client sent none: the configured value', { model: 'm' }, {}, overridable, { model: 'm', api_key: 'configured' }],
    [
      'untouched with query param auth',
      { model: 'm' },
      { api_key: 'mine' },
      auth({ param_name: 'api_key', param_value: 'v', param_location: 'query' }),
      { model: 'm' },
    ],
    ['untouched without auth', { model: 'm' }, {}, auth({}), { model: 'm' }],
  ];
  for (const [name, upstreamBody, clientBody, a, expected] of cases) {
    test(name, () => {
      applyAuthBody(upstreamBody, clientBody, a);
      assert.deepEqual(upstreamBody, expected);
    });
  }
});

describe('secretsOf', () => {
  const cases: Array<[string, AuthConfig, string[]]> = [
    ['none configured', {}, []],
    ['the header value', { header_name: 'Authorization', header_value: 'Bearer t' }, ['Bearer t']],
    ['the param value', { param_name: 'key', param_value: 'k', param_location: 'query' }, ['k']],
    ['both', { header_name: 'x-api-key', header_value: 'h', param_name: 'key', param_value: 'k', param_location: 'body' }, ['h', 'k']],
  ];
  for (const [name, a, expected] of cases) {
    test(name, () => {
      assert.deepEqual(secretsOf(auth(a)), expected);
    });
  }
});
