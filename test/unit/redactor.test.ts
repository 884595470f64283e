import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redactor, secretParts } from '../../lib/redact';
import { htmlTitle, upstreamError } from '../../lib/upstream-error';

const TOKEN = 'sk-abcdefghijklmnopqrstuvwxyz0123';

describe('Redactor', () => {
  const r = new Redactor([`Bearer ${TOKEN}`, 'q v/1&2']);
  const cases: [string, string, string][] = [
    ['the whole header value', `got Bearer ${TOKEN}!`, 'got [redacted]!'],
    ['the token after its scheme', `Incorrect API key provided: ${TOKEN}.`, 'Incorrect API key provided: [redacted].'],
    ['a masked token (OpenAI)', `Incorrect API key provided: sk-abcde${'*'.repeat(20)}0123. You`, 'Incorrect API key provided: [redacted]. You'],
    ['a token cut by an excerpt', `{"x":"${TOKEN.slice(0, 10)}…`, '{"x":"[redacted]…'],
    ['a query value URL-encoded', '?key=q%20v%2F1%262&a', '?key=[redacted]&a'],
    ['a query value form-encoded', '?key=q+v%2F1%262&a', '?key=[redacted]&a'],
    ['inside JSON', JSON.stringify({ k: `Bearer ${TOKEN}` }), '{"k":"[redacted]"}'],
    ['nothing to hide', 'plain *** text… here', 'plain *** text… here'],
    ['stars around unrelated text', 'a ***b*** c', 'a ***b*** c'],
  ];
  for (const [label, text, expected] of cases) {
    test(label, () => assert.equal(r.redact(text), expected));
  }

  test('Basic credentials: the decoded user:password and the password', () => {
    const basic = new Redactor([`Basic ${Buffer.from('alice:hunter2-very-secret').toString('base64')}`]);
    assert.equal(basic.redact('login alice:hunter2-very-secret'), 'login [redacted]');
    assert.equal(basic.redact('password hunter2-very-secret'), 'password [redacted]');
  });

  test('short derived parts are not hunted for (a scheme with a 3-character token)', () => {
    assert.deepEqual(secretParts('Token abc'), ['Token abc', 'Token%20abc', 'Token+abc']);
  });

  test('no secrets: inactive, text returned as is', () => {
    const none = new Redactor([]);
    assert.equal(none.active, false);
    const text = 'x'.repeat(10);
    assert.equal(none.redact(text), text);
  });

  test('linear: a long text of stars and ellipses is redacted quickly', () => {
    const text = `${'a***'.repeat(50_000)}${'b…'.repeat(50_000)}`;
    const started = performance.now();
    r.redact(text);
    assert.ok(performance.now() - started < 1000);
  });
});

describe('htmlTitle', () => {
  test('reads the first title, any case, with attributes', () => {
    assert.equal(htmlTitle('<html><head><TITLE lang="en"> 502 Bad Gateway </TITLE>'), '502 Bad Gateway');
    assert.equal(htmlTitle('<titlex>no</titlex><title>yes</title>'), 'yes');
    assert.equal(htmlTitle('<title<title>ok</title>'), 'ok');
    assert.equal(htmlTitle('<html>no title</html>'), undefined);
  });

  test('linear on hostile pages (`<title` repeated, an unclosed tag)', () => {
    for (const page of ['<title'.repeat(200_000), `<title ${'a'.repeat(1_000_000)}`, `<title>${'<title>'.repeat(100_000)}`]) {
      const started = performance.now();
      htmlTitle(page);
      assert.ok(performance.now() - started < 200, `${performance.now() - started} ms`);
    }
  });

  test('upstreamError: a hostile HTML page takes no time', () => {
    const started = performance.now();
    const e = upstreamError(502, 'text/html', `<html>${'<title'.repeat(300_000)}`, []);
    assert.equal(e.message, 'the upstream answered with an HTML error page');
    assert.ok(performance.now() - started < 200);
  });
});
