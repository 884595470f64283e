import { ProxyError } from '../errors';
import type { ChatMessage, LlmRequest } from './format';

// Markers of Meta's reference template (meta-llama/llama, generation.py).
const B_INST = '[INST]';
const E_INST = '[/INST]';
const B_SYS = '<<SYS>>\n';
const E_SYS = '\n<</SYS>>\n\n';
const BOS = '<s>';
const EOS = '</s>';
const SPECIAL_TAGS = [B_INST, E_INST, '<<SYS>>', '<</SYS>>'];
/**
 * The spellings the Llama 2 tokenizer turns into control tokens when the server parses special
 * tokens in the prompt text (llama.cpp's server and TGI both do): `<unk>` = 0, `<s>` = 1, `</s>` = 2.
 * Exact and case-sensitive, as the tokenizer matches them (checked against llama.cpp's `/tokenize`:
 * `<S>`, `< s>`, `<0x0A>`, `<pad>` stay text). Meta's reference tokenizer never reads typed text as
 * control tokens, so a user who types one could forge the end of a turn and start another.
 */
export const LLAMA2_SPECIAL_TOKENS = ['<s>', '</s>', '<unk>'];

const ALL_SPECIAL = [...SPECIAL_TAGS, ...LLAMA2_SPECIAL_TOKENS];

/** The first special-token spelling (template tag or control token) in a text, if any. */
function specialTokenIn(text: string): string | undefined {
  let first: string | undefined;
  let at = Infinity;
  for (const spelling of ALL_SPECIAL) {
    const i = text.indexOf(spelling);
    if (i !== -1 && i < at) [first, at] = [spelling, i];
  }
  return first;
}

function refuseSpecial(found: string, where: string): ProxyError {
  return new ProxyError(
    400,
    `special tags are not allowed as part of the prompt: ${where} contains '${found}'; ` +
      "the Llama 2 template and the server's tokenizer would read [INST], [/INST], <<SYS>>, <</SYS>>, <s>, </s> and <unk> as control tokens",
    'invalid_request_error',
  );
}

interface Turn {
  role: 'user' | 'assistant';
  parts: string[];
}

/**
 * Renders a chat as the Llama 2 prompt with Meta's chat template, as text:
 * `[INST] <<SYS>>\nS\n<</SYS>>\n\nU1 [/INST] A1 </s><s>[INST] U2 [/INST]`.
 *
 * The leading `<s>` is left out because TGI and llama.cpp add BOS themselves (a second one
 * degrades the answer); the inner `</s><s>` stay, as Meta encodes every earlier turn with BOS and EOS.
 * Beyond Meta's strict alternation it accepts: several leading system messages (joined with a blank
 * line), consecutive messages of one role (joined likewise) and a later system message (folded into
 * the next user turn, before its text).
 *
 * @throws ProxyError 400 for a dialog the template cannot express.
 */
export function buildLlama2ChatPrompt(messages: readonly ChatMessage[]): string {
  for (const m of messages) {
    if (m.role !== 'system' && m.role !== 'user' && m.role !== 'assistant') {
      throw new ProxyError(
        400,
        `messages with role '${m.role}' are not supported by the Llama 2 chat template (llama2_format raw); use system, user and assistant`,
      );
    }
    const found = specialTokenIn(m.content);
    if (found !== undefined) throw refuseSpecial(found, 'message content');
  }

  let i = 0;
  const systems: string[] = [];
  for (; i < messages.length && messages[i]?.role === 'system'; i++) systems.push((messages[i] as ChatMessage).content);

  const turns: Turn[] = [];
  let pendingSystem: string[] = [];
  for (; i < messages.length; i++) {
    const m = messages[i] as ChatMessage;
    if (m.role === 'system') {
      pendingSystem.push(m.content.trim());
      continue;
    }
    if (m.role === 'assistant' && turns.length === 0) {
      throw new ProxyError(400, 'an assistant message cannot come before the first user message (Llama 2 chat template)');
    }
    const role = m.role as Turn['role'];
    const parts = role === 'user' ? [...pendingSystem, m.content.trim()] : [m.content.trim()];
    if (role === 'user') pendingSystem = [];
    const last = turns[turns.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else turns.push({ role, parts });
  }

  if (!turns.some((t) => t.role === 'user')) {
    throw new ProxyError(400, 'messages must contain at least one user message');
  }
  if (pendingSystem.length > 0 || turns[turns.length - 1]?.role !== 'user') {
    throw new ProxyError(400, 'the last message must be a user message (Llama 2 chat template)');
  }

  const contents = turns.map((t) => t.parts.filter((p) => p !== '').join('\n\n'));
  if (systems.length > 0) contents[0] = `${B_SYS}${systems.join('\n\n')}${E_SYS}${contents[0] ?? ''}`;

  let text = '';
  for (let t = 0; t + 1 < contents.length; t += 2) {
    text += `${BOS}${B_INST} ${contents[t]} ${E_INST} ${contents[t + 1]} ${EOS}`;
  }
  text += `${BOS}${B_INST} ${contents[contents.length - 1]} ${E_INST}`;
  return text.slice(BOS.length);
}

/**
 * The prompt for the completions route: a prompt that already contains `[INST]` is the client's own
 * template and goes unchanged; any other becomes one user turn, `[INST] {prompt} [/INST]`, and then
 * may not contain a special-token spelling (400), as a chat message may not.
 */
export function buildLlama2CompletionPrompt(prompt: string): string {
  if (prompt.includes(B_INST)) return prompt;
  const found = specialTokenIn(prompt);
  if (found !== undefined) throw refuseSpecial(found, 'the prompt');
  return `${B_INST} ${prompt.trim()} ${E_INST}`;
}

/** The prompt text a `raw` upstream receives for a request. */
export function buildLlama2Prompt(req: LlmRequest): string {
  return req.kind === 'chat' ? buildLlama2ChatPrompt(req.messages ?? []) : buildLlama2CompletionPrompt(req.prompt ?? '');
}
