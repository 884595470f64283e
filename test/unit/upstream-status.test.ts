import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isRelayableStatus } from '../../lib/upstream-status';

describe('isRelayableStatus: only final 2xx/4xx/5xx answers are relayed', () => {
  for (const status of [200, 201, 204, 299, 400, 401, 404, 429, 499, 500, 502, 503, 599]) {
    test(`${status} is relayed`, () => assert.equal(isRelayableStatus(status), true));
  }
  for (const status of [undefined, 0, 99, 100, 101, 103, 199, 300, 301, 302, 304, 307, 399, 600, 999, 200.5, NaN]) {
    test(`${status} is not`, () => assert.equal(isRelayableStatus(status), false));
  }
});
