import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyError } from '../../lib/errors';
import type { ChatMessage } from '../../lib/formats/format';
import { buildLlama2ChatPrompt, buildLlama2CompletionPrompt } from '../../lib/formats/llama2-prompt';
import { fixtureJson } from '../fixtures/formats-load';

const sys = (content: string): ChatMessage => ({ role: 'system', content });
const user = (content: string): ChatMessage => ({ role: 'user', content });
const asst = (content: string): ChatMessage => ({ role: 'assistant', content });

describe('buildLlama2ChatPrompt', () => {
  test("renders Meta's reference dialog, minus the leading <s>", () => {
    const fx = fixtureJson('llama2-prompt-meta-vs-kong.json');
    const expected: string = fx.meta_reference_rendering;
    assert.ok(expected.startsWith('<s>'));
    assert.equal(buildLlama2ChatPrompt(fx.messages), expected.slice('<s>'.length));
  });

  const cases: Array<[string, ChatMessage[], string]> = [
    ['the brief example', [sys('S'), user('U1'), asst('A1'), user('U2')], '[INST] <<SYS>>\nS\n<</SYS>>\n\nU1 [/INST] A1 </s><s>[INST] U2 [/INST]'],
    ['one user message', [user('Hello')], '[INST] Hello [/INST]'],
    ['user and assistant content trimmed', [user('  U1 \n'), asst('\n A1  '), user(' U2 ')], '[INST] U1 [/INST] A1 </s><s>[INST] U2 [/INST]'],
    ['several leading system messages joined', [sys('S1'), sys('S2'), user('U')], '[INST] <<SYS>>\nS1\n\nS2\n<</SYS>>\n\nU [/INST]'],
    ['consecutive user messages joined', [user('U1'), user('U2')], '[INST] U1\n\nU2 [/INST]'],
    ['consecutive assistant messages joined', [user('U1'), asst('A1'), asst('A2'), user('U2')], '[INST] U1 [/INST] A1\n\nA2 </s><s>[INST] U2 [/INST]'],
    [
      'later system folded into the next user turn',
      [user('U1'), asst('A1'), sys('Be brief.'), user('U2')],
      '[INST] U1 [/INST] A1 </s><s>[INST] Be brief.\n\nU2 [/INST]',
    ],
    ['later system between two user messages', [user('U1'), sys('S'), user('U2')], '[INST] U1\n\nS\n\nU2 [/INST]'],
    // Only the exact spellings are control tokens to the Llama 2 tokenizer (llama.cpp's /tokenize agrees).
    [
      'look-alikes of control tokens are text',
      [user('What is <S>, < s>, <0x0A>, <pad>, <s or s>?')],
      '[INST] What is <S>, < s>, <0x0A>, <pad>, <s or s>? [/INST]',
    ],
  ];
  for (const [name, messages, expected] of cases) {
    test(name, () => assert.equal(buildLlama2ChatPrompt(messages), expected));
  }

  const rejected: Array<[string, ChatMessage[], RegExp]> = [
    ['no messages', [], /at least one user message/],
    ['only system', [sys('S')], /at least one user message/],
    ['ends with assistant', [user('U'), asst('A')], /last message must be a user message/],
    ['ends with system', [user('U'), sys('S')], /last message must be a user message/],
    ['assistant before any user', [sys('S'), asst('A'), user('U')], /assistant message cannot come before the first user message/],
    ['tool role', [user('U'), { role: 'tool', content: '42' }, user('U2')], /role 'tool'/],
    ['function role', [{ role: 'function', content: 'x' }], /role 'function'/],
    ['[INST] in user content', [user('a [INST] b')], /special tags are not allowed/],
    ['[/INST] in assistant content', [user('U'), asst('x [/INST]'), user('U2')], /special tags are not allowed/],
    ['<<SYS>> in system content', [sys('<<SYS>>'), user('U')], /special tags are not allowed/],
    ['<</SYS>> in user content', [user('<</SYS>>')], /special tags are not allowed/],
    // The server's tokenizer reads these as BOS, EOS and UNK: a typed `</s><s>` would forge a new turn.
    ['</s><s> in user content', [user('tell me </s><s> more')], /contains '<\/s>'/],
    ['<s> in assistant content', [user('U'), asst('What is <s>?'), user('U2')], /contains '<s>'/],
    ['<unk> in system content', [sys('x <unk> y'), user('U')], /contains '<unk>'/],
  ];
  for (const [name, messages, message] of rejected) {
    test(`400: ${name}`, () => {
      assert.throws(
        () => buildLlama2ChatPrompt(messages),
        (err: unknown) => err instanceof ProxyError && err.status === 400 && err.type === 'invalid_request_error' && message.test(err.message),
      );
    });
  }
});

describe('buildLlama2CompletionPrompt', () => {
  test('wraps a plain prompt as one user turn, trimmed, without a system prompt', () => {
    assert.equal(buildLlama2CompletionPrompt("  Explain why you can't divide by zero?\n"), "[INST] Explain why you can't divide by zero? [/INST]");
  });
  test('sends a prompt that already contains [INST] unchanged', () => {
    const p = '<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST] ';
    assert.equal(buildLlama2CompletionPrompt(p), p);
  });
  for (const spelling of ['</s>', '<s>', '<unk>', '[/INST]', '<<SYS>>', '<</SYS>>']) {
    test(`400 for ${spelling} in a prompt it wraps`, () => {
      assert.throws(
        () => buildLlama2CompletionPrompt(`tell me ${spelling} more`),
        (err: unknown) => err instanceof ProxyError && err.status === 400 && err.message.includes(`contains '${spelling}'`),
      );
    });
  }
});
