import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { validateConfig, type ResolvedConfig } from '../../lib/config';
import { AiProxyConfigError, type ConfigProblem } from '../../lib/errors';
import type { AiProxyConfig } from '../../lib/types';

type Obj = Record<string, unknown>;

const URL_ = 'http://127.0.0.1:11434/api/chat';
const OPTIONS = { llama2_format: 'ollama', upstream_url: URL_ };

/** A valid chat config with `extra` merged at the top level. */
function config(extra: Obj = {}): Obj {
  return { route_type: 'llm/v1/chat', model: { provider: 'llama2', options: OPTIONS }, ...extra };
}

/** A valid chat config whose `model.options` get `extra`. */
function withOptions(extra: Obj): Obj {
  return config({ model: { provider: 'llama2', options: { ...OPTIONS, ...extra } } });
}

/** The config is typed for users; these tests feed it what users get wrong, too. */
function validate(c: unknown): ResolvedConfig {
  return validateConfig(c as AiProxyConfig);
}

/** The AiProxyConfigError that `c` raises (fails the test if none is thrown). */
function configError(c: unknown): AiProxyConfigError {
  try {
    validate(c);
  } catch (err) {
    assert.ok(err instanceof AiProxyConfigError, `expected AiProxyConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('the config was accepted');
}

function problems(c: unknown): ConfigProblem[] {
  return configError(c).details;
}

const DEFAULTS = {
  auth: { allow_override: false },
  logging: { log_statistics: false, log_payloads: false },
  response_streaming: 'allow',
  max_request_body_size: 8 * 1024 * 1024,
  max_response_body_size: 32 * 1024 * 1024,
  model_name_header: true,
  observability: { tracing: false, server_timing: true },
  upstream_timeout: 60_000,
  request_body_timeout: 30_000,
  client_model: 'reject',
  upstream_first_byte_timeout: 300_000,
  upstream_total_timeout: 1_800_000,
  client_write_timeout: 60_000,
};

describe('validateConfig: the resolved config', () => {
  test('a minimal config gets every default, and raw_dialect auto', () => {
    assert.deepEqual(validate(config()), {
      route_type: 'llm/v1/chat',
      model: { provider: 'llama2', options: { ...OPTIONS, raw_dialect: 'auto' } },
      ...DEFAULTS,
    });
  });

  test('the Kong docs short form model.llama2_format / model.upstream_url is folded into model.options', () => {
    const resolved = validate({
      route_type: 'llm/v1/completions',
      model: { provider: 'llama2', name: 'llama2', llama2_format: 'raw', upstream_url: 'http://127.0.0.1:8080/completion' },
    });
    assert.deepEqual(resolved.model, {
      provider: 'llama2',
      name: 'llama2',
      options: { llama2_format: 'raw', upstream_url: 'http://127.0.0.1:8080/completion', raw_dialect: 'auto' },
    });
  });

  test('short form mixed with options: each field from where it was given', () => {
    const resolved = validate({
      route_type: 'llm/v1/chat',
      model: { provider: 'llama2', upstream_url: URL_, options: { llama2_format: 'ollama', temperature: 0.7 } },
    });
    assert.deepEqual(resolved.model.options, { llama2_format: 'ollama', upstream_url: URL_, temperature: 0.7, raw_dialect: 'auto' });
  });

  test('the same value in both places is no conflict', () => {
    const resolved = validate({ route_type: 'llm/v1/chat', model: { provider: 'llama2', ...OPTIONS, options: OPTIONS } });
    assert.deepEqual(resolved.model.options, { ...OPTIONS, raw_dialect: 'auto' });
  });

  test('every option given is kept as given', () => {
    const onStatistics = (_stats: unknown) => undefined;
    const agent = new HttpAgent({ keepAlive: true });
    const full = {
      route_type: 'llm/v1/completions',
      model: {
        provider: 'llama2',
        name: 'llama2:13b',
        options: {
          llama2_format: 'raw',
          upstream_url: 'https://tgi.internal:8443/generate?x=1',
          raw_dialect: 'tgi',
          max_tokens: 256,
          temperature: 0.5,
          top_p: 0.9,
          top_k: 40,
          input_cost: 0.1,
          output_cost: 0.2,
        },
      },
      auth: { header_name: 'Authorization', header_value: 'Bearer t', param_name: 'key', param_value: 'k', param_location: 'query', allow_override: true },
      logging: { log_statistics: true, log_payloads: true, on_statistics: onStatistics },
      response_streaming: 'deny',
      max_request_body_size: 1024,
      max_response_body_size: 2048,
      model_name_header: false,
      upstream_timeout: 5000,
      upstream_first_byte_timeout: 6000,
      upstream_total_timeout: 7000,
      client_write_timeout: 8000,
      agent,
      request_body_timeout: 1000,
      forward_headers: { allow: ['Cookie'], deny: ['x-internal'] },
      observability: { route_name: 'completions', tracing: false, server_timing: false },
      client_model: 'replace',
    };
    const resolved = validate(full);
    assert.deepEqual(resolved, full);
    assert.equal(resolved.agent, agent);
    assert.equal(resolved.logging.on_statistics, onStatistics);
  });

  test('on_statistics may be any function (console.log, a no-argument arrow)', () => {
    for (const fn of [console.log, () => undefined, (_a: unknown, _b: unknown) => undefined]) {
      const resolved = validateConfig(config({ logging: { log_statistics: true, on_statistics: fn } }) as never);
      assert.equal(resolved.logging.on_statistics, fn);
    }
  });

  test('an https.Agent is accepted as agent', () => {
    const agent = new HttpsAgent();
    assert.equal(validate(config({ agent })).agent, agent);
  });

  for (const value of ['allow', 'deny', 'always'] as const) {
    test(`response_streaming "${value}" is accepted`, () => {
      assert.equal(validate(config({ response_streaming: value })).response_streaming, value);
    });
  }

  test("the caller's config object is left untouched", () => {
    const input = { route_type: 'llm/v1/chat', model: { provider: 'llama2', ...OPTIONS } };
    const before = structuredClone(input);
    validate(input);
    assert.deepEqual(input, before);
  });
});

describe('validateConfig: one problem, its path and message', () => {
  const cases: Array<[string, unknown, ConfigProblem[]]> = [
    ['no config at all', undefined, [{ path: '(config)', message: '(config) is required' }]],
    ['a string instead of an object', 'llm/v1/chat', [{ path: '(config)', message: '(config) must be of type object' }]],
    ['no model', { route_type: 'llm/v1/chat' }, [{ path: 'model', message: 'model is required' }]],
    [
      'no route_type',
      { model: { provider: 'llama2', options: OPTIONS } },
      [{ path: 'route_type', message: 'route_type is required (one of "llm/v1/chat", "llm/v1/completions", "llm/v1/embeddings")' }],
    ],
    [
      'an unknown route_type',
      config({ route_type: 'llm/v1/images' }),
      [{ path: 'route_type', message: 'route_type must be one of "llm/v1/chat", "llm/v1/completions", "llm/v1/embeddings", got "llm/v1/images"' }],
    ],
    [
      'another provider',
      { route_type: 'llm/v1/chat', model: { provider: 'openai', options: {} } },
      [{ path: 'model.provider', message: 'model.provider must be one of "llama2", got "openai"' }],
    ],
    [
      'an unknown llama2_format',
      withOptions({ llama2_format: 'llamacpp' }),
      [{ path: 'model.options.llama2_format', message: 'model.options.llama2_format must be one of "raw", "ollama", "openai", got "llamacpp"' }],
    ],
    [
      'an unknown raw_dialect',
      withOptions({ raw_dialect: 'vllm' }),
      [{ path: 'model.options.raw_dialect', message: 'model.options.raw_dialect must be one of "auto", "tgi", "llamacpp", got "vllm"' }],
    ],
    [
      'upstream_url without a scheme',
      withOptions({ upstream_url: '127.0.0.1:11434/api/chat' }),
      [
        {
          path: 'model.options.upstream_url',
          message: 'model.options.upstream_url must be an absolute http(s) URL, e.g. "http://127.0.0.1:11434/api/chat", got "127.0.0.1:11434/api/chat"',
        },
      ],
    ],
    [
      'upstream_url as a bare path',
      withOptions({ upstream_url: '/api/chat' }),
      [
        {
          path: 'model.options.upstream_url',
          message: 'model.options.upstream_url must be an absolute http(s) URL, e.g. "http://127.0.0.1:11434/api/chat", got "/api/chat"',
        },
      ],
    ],
    [
      'upstream_url with another scheme',
      withOptions({ upstream_url: 'ws://127.0.0.1:11434/api/chat' }),
      [
        {
          path: 'model.options.upstream_url',
          message: 'model.options.upstream_url must be an absolute http(s) URL, e.g. "http://127.0.0.1:11434/api/chat", got "ws://127.0.0.1:11434/api/chat"',
        },
      ],
    ],
    [
      'llama2 without upstream_url',
      config({ model: { provider: 'llama2', options: { llama2_format: 'ollama' } } }),
      [
        {
          path: 'model.options.upstream_url',
          message: 'model.options.upstream_url is required for the llama2 provider (an absolute http(s) URL, e.g. "http://127.0.0.1:11434/api/chat")',
        },
      ],
    ],
    [
      'llama2 without llama2_format (short form upstream_url only)',
      { route_type: 'llm/v1/chat', model: { provider: 'llama2', upstream_url: URL_ } },
      [{ path: 'model.options.llama2_format', message: 'model.options.llama2_format is required for the llama2 provider (one of "raw", "ollama", "openai")' }],
    ],
    [
      'an empty model name',
      config({ model: { provider: 'llama2', name: '', options: OPTIONS } }),
      [{ path: 'model.name', message: 'model.name is not allowed to be empty' }],
    ],
    [
      'model.options that is not an object',
      config({ model: { provider: 'llama2', options: 'ollama' } }),
      [{ path: 'model.options', message: 'model.options must be of type object' }],
    ],
    ['a string number', withOptions({ temperature: '0.7' }), [{ path: 'model.options.temperature', message: 'model.options.temperature must be a number' }]],
    [
      'an unknown response_streaming',
      config({ response_streaming: 'on' }),
      [{ path: 'response_streaming', message: 'response_streaming must be one of "allow", "deny", "always", got "on"' }],
    ],
    ['a plain object as agent', config({ agent: { keepAlive: true } }), [{ path: 'agent', message: 'agent must be an instance of "http.Agent"' }]],
    ['a string as model_name_header', config({ model_name_header: 'yes' }), [{ path: 'model_name_header', message: 'model_name_header must be a boolean' }]],
    ['a fractional upstream_timeout', config({ upstream_timeout: 1.5 }), [{ path: 'upstream_timeout', message: 'upstream_timeout must be an integer' }]],
    ['a zero upstream_timeout', config({ upstream_timeout: 0 }), [{ path: 'upstream_timeout', message: 'upstream_timeout must be greater than 0' }]],
    [
      'a zero max_response_body_size',
      config({ max_response_body_size: 0 }),
      [{ path: 'max_response_body_size', message: 'max_response_body_size must be greater than 0' }],
    ],
    [
      'a string log_statistics',
      config({ logging: { log_statistics: 'true' } }),
      [{ path: 'logging.log_statistics', message: 'logging.log_statistics must be a boolean' }],
    ],
    [
      'a header name with a space',
      config({ auth: { header_name: 'X Api Key', header_value: 'v' } }),
      [{ path: 'auth.header_name', message: 'auth.header_name must be a valid HTTP header name' }],
    ],
    [
      'a param_location other than query or body',
      config({ auth: { param_name: 'key', param_value: 'v', param_location: 'header' } }),
      [{ path: 'auth.param_location', message: 'auth.param_location must be one of "query", "body"' }],
    ],
    [
      'a string allow_override',
      config({ auth: { allow_override: 'yes' } }),
      [{ path: 'auth.allow_override', message: 'auth.allow_override must be a boolean' }],
    ],
    [
      'a header value with a trailing newline (a token file read as is)',
      config({ auth: { header_name: 'Authorization', header_value: 'Bearer sk-x\n' } }),
      [{ path: 'auth.header_value', message: 'auth.header_value must be a valid header value (no line breaks or control characters)' }],
    ],
    [
      'a boolean where a choice is expected is one problem, not two',
      config({ response_streaming: true }),
      [{ path: 'response_streaming', message: 'response_streaming must be one of "allow", "deny", "always", got true' }],
    ],
    [
      'no provider: only that, not the llama2 requirements',
      { route_type: 'llm/v1/chat', model: { options: {} } },
      [{ path: 'model.provider', message: 'model.provider is required' }],
    ],
  ];
  for (const [name, input, expected] of cases) {
    test(name, () => {
      assert.deepEqual(problems(input), expected);
    });
  }

  test('the error carries a stable code, a name, and the problem in its message', () => {
    const err = configError(config({ route_type: 'chat' }));
    assert.equal(err.code, 'ERR_AI_PROXY_CONFIG');
    assert.equal(err.name, 'AiProxyConfigError');
    assert.equal(
      err.message,
      'Invalid express-ai-proxy config (1 problem):\n  - route_type must be one of "llm/v1/chat", "llm/v1/completions", "llm/v1/embeddings", got "chat"',
    );
  });
});

describe('validateConfig: short form conflicts', () => {
  const cases: Array<[string, Obj, ConfigProblem[]]> = [
    [
      'llama2_format given twice, differently',
      { llama2_format: 'raw', options: OPTIONS },
      [{ path: 'model.llama2_format', message: 'model.llama2_format and model.options.llama2_format disagree: give it once, preferably in model.options' }],
    ],
    [
      'upstream_url given twice, differently',
      { upstream_url: 'http://127.0.0.1:8080/completion', options: OPTIONS },
      [{ path: 'model.upstream_url', message: 'model.upstream_url and model.options.upstream_url disagree: give it once, preferably in model.options' }],
    ],
    [
      'both given twice, differently',
      { llama2_format: 'openai', upstream_url: 'http://127.0.0.1:8000/v1/chat/completions', options: OPTIONS },
      [
        { path: 'model.llama2_format', message: 'model.llama2_format and model.options.llama2_format disagree: give it once, preferably in model.options' },
        { path: 'model.upstream_url', message: 'model.upstream_url and model.options.upstream_url disagree: give it once, preferably in model.options' },
      ],
    ],
    [
      'an invalid short-form value is reported under model.options',
      { llama2_format: 'tgi', upstream_url: URL_ },
      [{ path: 'model.options.llama2_format', message: 'model.options.llama2_format must be one of "raw", "ollama", "openai", got "tgi"' }],
    ],
  ];
  for (const [name, model, expected] of cases) {
    test(name, () => {
      assert.deepEqual(problems({ route_type: 'llm/v1/chat', model: { provider: 'llama2', ...model } }), expected);
    });
  }
});

describe('validateConfig: bounds of the tuning options and sizes', () => {
  const accepted: Array<[string, Obj]> = [
    ['temperature 0', { temperature: 0 }],
    ['temperature 5', { temperature: 5 }],
    ['temperature 0.7', { temperature: 0.7 }],
    ['top_p 0', { top_p: 0 }],
    ['top_p 1', { top_p: 1 }],
    ['top_k 0', { top_k: 0 }],
    ['top_k 500', { top_k: 500 }],
    ['max_tokens 1', { max_tokens: 1 }],
    ['max_tokens 100000', { max_tokens: 100_000 }],
    ['costs just above 0', { input_cost: 0.0001, output_cost: 0.0001 }],
  ];
  for (const [name, options] of accepted) {
    test(`accepts ${name}`, () => {
      const resolved = validate(withOptions(options));
      for (const [key, value] of Object.entries(options)) assert.equal(resolved.model.options[key as keyof typeof resolved.model.options], value);
    });
  }

  const rejected: Array<[string, Obj, string]> = [
    ['temperature', { temperature: -0.1 }, 'model.options.temperature must be greater than or equal to 0'],
    ['temperature', { temperature: 5.01 }, 'model.options.temperature must be less than or equal to 5'],
    ['top_p', { top_p: -0.1 }, 'model.options.top_p must be greater than or equal to 0'],
    ['top_p', { top_p: 1.1 }, 'model.options.top_p must be less than or equal to 1'],
    ['top_k', { top_k: -1 }, 'model.options.top_k must be greater than or equal to 0'],
    ['top_k', { top_k: 501 }, 'model.options.top_k must be less than or equal to 500'],
    ['top_k', { top_k: 40.5 }, 'model.options.top_k must be an integer'],
    ['max_tokens', { max_tokens: 0 }, 'model.options.max_tokens must be greater than or equal to 1'],
    ['max_tokens', { max_tokens: 2.5 }, 'model.options.max_tokens must be an integer'],
    ['input_cost', { input_cost: 0 }, 'model.options.input_cost must be greater than 0'],
    ['input_cost', { input_cost: -1 }, 'model.options.input_cost must be greater than 0'],
    ['output_cost', { output_cost: 0 }, 'model.options.output_cost must be greater than 0'],
  ];
  for (const [key, options, message] of rejected) {
    test(`rejects ${key} ${JSON.stringify(options[key])}`, () => {
      assert.deepEqual(problems(withOptions(options)), [{ path: `model.options.${key}`, message }]);
    });
  }

  const sizes: Array<[unknown, string]> = [
    [0, 'max_request_body_size must be greater than 0'],
    [-1, 'max_request_body_size must be greater than 0'],
    [1.5, 'max_request_body_size must be an integer'],
    ['1mb', 'max_request_body_size must be a number'],
  ];
  for (const [value, message] of sizes) {
    test(`rejects max_request_body_size ${JSON.stringify(value)}`, () => {
      assert.deepEqual(problems(config({ max_request_body_size: value })), [{ path: 'max_request_body_size', message }]);
    });
  }

  test('accepts max_request_body_size 1', () => {
    assert.equal(validate(config({ max_request_body_size: 1 })).max_request_body_size, 1);
  });
});

describe('validateConfig: every problem listed at once', () => {
  test('problems in different sections, each with its path, in one error', () => {
    const err = configError({
      route_type: 'llm/v1/chatt',
      model: { provider: 'llama2', options: { llama2_format: 'ollama', temperature: 9, top_k: 1.5 } },
      auth: { header_name: 'Authorization' },
      response_streaming: 'never',
      max_request_body_size: 0,
    });
    assert.deepEqual(err.details, [
      { path: 'route_type', message: 'route_type must be one of "llm/v1/chat", "llm/v1/completions", "llm/v1/embeddings", got "llm/v1/chatt"' },
      {
        path: 'model.options.upstream_url',
        message: 'model.options.upstream_url is required for the llama2 provider (an absolute http(s) URL, e.g. "http://127.0.0.1:11434/api/chat")',
      },
      { path: 'model.options.temperature', message: 'model.options.temperature must be less than or equal to 5' },
      { path: 'model.options.top_k', message: 'model.options.top_k must be an integer' },
      { path: 'auth.header_value', message: 'auth.header_value must be set together with auth.header_name' },
      { path: 'response_streaming', message: 'response_streaming must be one of "allow", "deny", "always", got "never"' },
      { path: 'max_request_body_size', message: 'max_request_body_size must be greater than 0' },
    ]);
    assert.equal(
      err.message,
      [
        'Invalid express-ai-proxy config (7 problems):',
        '  - route_type must be one of "llm/v1/chat", "llm/v1/completions", "llm/v1/embeddings", got "llm/v1/chatt"',
        '  - model.options.upstream_url is required for the llama2 provider (an absolute http(s) URL, e.g. "http://127.0.0.1:11434/api/chat")',
        '  - model.options.temperature must be less than or equal to 5',
        '  - model.options.top_k must be an integer',
        '  - auth.header_value must be set together with auth.header_name',
        '  - response_streaming must be one of "allow", "deny", "always", got "never"',
        '  - max_request_body_size must be greater than 0',
      ].join('\n'),
    );
  });

  test('a short-form conflict is listed together with the schema problems', () => {
    assert.deepEqual(problems({ route_type: 'llm/v1/chat', model: { provider: 'llama2', llama2_format: 'raw', options: { ...OPTIONS, top_p: 2 } } }), [
      { path: 'model.llama2_format', message: 'model.llama2_format and model.options.llama2_format disagree: give it once, preferably in model.options' },
      { path: 'model.options.top_p', message: 'model.options.top_p must be less than or equal to 1' },
    ]);
  });

  test('both llama2 requirements at once when model.options is missing', () => {
    assert.deepEqual(problems({ route_type: 'llm/v1/chat', model: { provider: 'llama2' } }), [
      { path: 'model.options.llama2_format', message: 'model.options.llama2_format is required for the llama2 provider (one of "raw", "ollama", "openai")' },
      {
        path: 'model.options.upstream_url',
        message: 'model.options.upstream_url is required for the llama2 provider (an absolute http(s) URL, e.g. "http://127.0.0.1:11434/api/chat")',
      },
    ]);
  });
});

describe('validateConfig: unknown keys and typo suggestions', () => {
  const cases: Array<[string, unknown, string, string]> = [
    [
      'upstream_uri in model.options',
      withOptions({ upstream_uri: URL_ }),
      'model.options.upstream_uri',
      'model.options.upstream_uri is not a known option. Did you mean "upstream_url"?',
    ],
    [
      'upstream_uri in the short form',
      { route_type: 'llm/v1/chat', model: { provider: 'llama2', upstream_uri: URL_, options: OPTIONS } },
      'model.upstream_uri',
      'model.upstream_uri is not a known option. Did you mean "upstream_url"?',
    ],
    [
      'camelCase maxTokens',
      withOptions({ maxTokens: 10 }),
      'model.options.maxTokens',
      'model.options.maxTokens is not a known option. Did you mean "max_tokens"?',
    ],
    ['temprature', withOptions({ temprature: 1 }), 'model.options.temprature', 'model.options.temprature is not a known option. Did you mean "temperature"?'],
    [
      'llama2Format',
      withOptions({ llama2Format: 'ollama' }),
      'model.options.llama2Format',
      'model.options.llama2Format is not a known option. Did you mean "llama2_format"?',
    ],
    ['routeType at the top', config({ routeType: 'llm/v1/chat' }), 'routeType', 'routeType is not a known option. Did you mean "route_type"?'],
    [
      'upstream_timout at the top',
      config({ upstream_timout: 1000 }),
      'upstream_timout',
      'upstream_timout is not a known option. Did you mean "upstream_timeout"?',
    ],
    [
      'headerName in auth',
      config({ auth: { headerName: 'Authorization' } }),
      'auth.headerName',
      'auth.headerName is not a known option. Did you mean "header_name"?',
    ],
    [
      'logStatistics in logging',
      config({ logging: { logStatistics: true } }),
      'logging.logStatistics',
      'logging.logStatistics is not a known option. Did you mean "log_statistics"?',
    ],
    ['a key like no known one', config({ plugins: [] }), 'plugins', 'plugins is not a known option'],
    [
      'a far-off key in model.options',
      withOptions({ frequency_penalty: 1 }),
      'model.options.frequency_penalty',
      'model.options.frequency_penalty is not a known option',
    ],
  ];
  for (const [name, input, path, message] of cases) {
    test(name, () => {
      assert.deepEqual(problems(input), [{ path, message }]);
    });
  }

  test('a typo of a required key reports both the missing key and the suggestion', () => {
    assert.deepEqual(problems(config({ model: { provider: 'llama2', options: { llama2_format: 'ollama', upstream_uri: URL_ } } })), [
      {
        path: 'model.options.upstream_url',
        message: 'model.options.upstream_url is required for the llama2 provider (an absolute http(s) URL, e.g. "http://127.0.0.1:11434/api/chat")',
      },
      { path: 'model.options.upstream_uri', message: 'model.options.upstream_uri is not a known option. Did you mean "upstream_url"?' },
    ]);
  });
});

describe('validateConfig: auth fields that go together', () => {
  const accepted: Array<[string, Obj]> = [
    ['nothing', {}],
    ['a header pair', { header_name: 'Authorization', header_value: 'Bearer t' }],
    ['a query param triple', { param_name: 'key', param_value: 'k', param_location: 'query' }],
    ['a body param triple', { param_name: 'api_key', param_value: 'k', param_location: 'body' }],
    ['a header pair and a param triple', { header_name: 'x-api-key', header_value: 'h', param_name: 'key', param_value: 'k', param_location: 'query' }],
    ['allow_override alone', { allow_override: true }],
  ];
  for (const [name, auth] of accepted) {
    test(`accepts ${name}`, () => {
      assert.deepEqual(validate(config({ auth })).auth, { allow_override: false, ...auth });
    });
  }

  const rejected: Array<[string, Obj, ConfigProblem]> = [
    [
      'header_name alone',
      { header_name: 'Authorization' },
      { path: 'auth.header_value', message: 'auth.header_value must be set together with auth.header_name' },
    ],
    ['header_value alone', { header_value: 'Bearer t' }, { path: 'auth.header_name', message: 'auth.header_name must be set together with auth.header_value' }],
    [
      'param_name alone',
      { param_name: 'key' },
      { path: 'auth.param_value', message: 'auth.param_value, auth.param_location must be set together with auth.param_name' },
    ],
    [
      'param_name and param_value without a location',
      { param_name: 'key', param_value: 'k' },
      { path: 'auth.param_location', message: 'auth.param_location must be set together with auth.param_name, auth.param_value' },
    ],
    [
      'param_value and param_location without a name',
      { param_value: 'k', param_location: 'query' },
      { path: 'auth.param_name', message: 'auth.param_name must be set together with auth.param_value, auth.param_location' },
    ],
    [
      'param_location alone',
      { param_location: 'body' },
      { path: 'auth.param_name', message: 'auth.param_name, auth.param_value must be set together with auth.param_location' },
    ],
    [
      'an empty header_value',
      { header_name: 'Authorization', header_value: '' },
      { path: 'auth.header_value', message: 'auth.header_value is not allowed to be empty' },
    ],
    ['a number header_value', { header_name: 'Authorization', header_value: 42 }, { path: 'auth.header_value', message: 'auth.header_value must be a string' }],
  ];
  for (const [name, auth, expected] of rejected) {
    test(`rejects ${name}`, () => {
      assert.deepEqual(problems(config({ auth })), [expected]);
    });
  }
});

describe('validateConfig: secrets never appear in the error', () => {
  const HEADER_SECRET = 'Bearer sk-hv-9f8e7d6c5b4a';
  const PARAM_SECRET = 'pv-0a1b2c3d4e5f';
  const cases: Array<[string, unknown]> = [
    [
      'header pair, param triple missing its location',
      config({ auth: { header_name: 'Authorization', header_value: HEADER_SECRET, param_name: 'key', param_value: PARAM_SECRET } }),
    ],
    ['header_value without header_name', config({ auth: { header_value: HEADER_SECRET } })],
    ['param_value without param_name', config({ auth: { param_value: PARAM_SECRET, param_location: 'query' } })],
    ['header_value as an array', config({ auth: { header_name: 'Authorization', header_value: [HEADER_SECRET] } })],
    ['header_value as an object', config({ auth: { header_name: 'Authorization', header_value: { token: HEADER_SECRET } } })],
    ['param_value as a number-like object', config({ auth: { param_name: 'key', param_value: { v: PARAM_SECRET }, param_location: 'body' } })],
    ['a misspelt key holding the secret', config({ auth: { header_name: 'Authorization', header_valeu: HEADER_SECRET } })],
    ['a secret next to a bad param_location', config({ auth: { param_name: 'key', param_value: PARAM_SECRET, param_location: 'header' } })],
    ['a secret next to a bad header_name', config({ auth: { header_name: 'X Api Key', header_value: HEADER_SECRET } })],
    ['header name and value swapped', config({ auth: { header_name: HEADER_SECRET, header_value: 'Authorization' } })],
    ['the secret put in param_location', config({ auth: { param_name: 'key', param_value: 'v', param_location: PARAM_SECRET } })],
    ['a header value with a line break', config({ auth: { header_name: 'Authorization', header_value: `${HEADER_SECRET}\n` } })],
    [
      'secrets in a config wrong everywhere else',
      {
        route_type: 'x',
        model: { provider: 'llama2', options: { temperature: 10 } },
        auth: {
          header_name: 'Authorization',
          header_value: HEADER_SECRET,
          param_name: 'key',
          param_value: PARAM_SECRET,
          param_location: 'query',
          allow_override: 'no',
        },
        unknown: true,
      },
    ],
  ];
  for (const [name, input] of cases) {
    test(name, () => {
      const err = configError(input);
      const visible = `${err.message}\n${JSON.stringify(err.details)}\n${String(err.stack)}`;
      for (const secret of [HEADER_SECRET, PARAM_SECRET, 'sk-hv-9f8e7d6c5b4a']) {
        assert.ok(!visible.includes(secret), `the error shows the secret:\n${visible}`);
      }
    });
  }
});
