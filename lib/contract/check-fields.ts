import { ProxyError } from '../errors';
import { CONTRACT_TARGETS, fieldCell, REQUEST_FIELDS, TARGET_LABELS, type ContractTarget, type RouteKind } from './request-fields';

/** The 400 for a request field (or part of one) an upstream cannot honour. */
export function unsupportedParameter(param: string, target: ContractTarget, why: string): ProxyError {
  return new ProxyError(
    400,
    `"${param}" is not supported by llama2_format ${TARGET_LABELS[target]}: ${why}`,
    'invalid_request_error',
    'unsupported_parameter',
    param,
  );
}

/** The 400 for a field whose value is malformed. */
export function invalidValue(param: string, message: string): ProxyError {
  return new ProxyError(400, `"${param}" ${message}`, 'invalid_request_error', 'invalid_value', param);
}

/** Fields every format reads for a plain request; any other field present sends the request down the slower, complete mapping. */
const PLAIN_FIELDS = new Set(['model', 'messages', 'prompt', 'stream', 'stream_options', 'max_tokens', 'temperature', 'top_p', 'top_k', 'stop', 'user', 'n']);

/** Per route and target, the fields whose every value is accepted (read from the table once, so the per-request loop skips them). */
const ALWAYS_ACCEPTED: Readonly<Record<RouteKind, Readonly<Record<ContractTarget, ReadonlySet<string>>>>> = {
  chat: acceptedFields('chat'),
  completions: acceptedFields('completions'),
};

function acceptedFields(kind: RouteKind): Record<ContractTarget, Set<string>> {
  const out = {} as Record<ContractTarget, Set<string>>;
  for (const target of CONTRACT_TARGETS) {
    out[target] = new Set(
      Object.entries(REQUEST_FIELDS[kind])
        .filter(([, row]) => row[target].use !== 'refused' && !(row[target].use === 'mapped' && 'refuse' in row[target] && row[target].refuse))
        .map(([field]) => field),
    );
  }
  return out;
}

/**
 * Refuses, from the contract table, every field of the body the route's upstream cannot honour.
 * `null` counts as not given (OpenAI's SDKs and LangChain send it for unset options).
 * @param authField the body field `auth` is configured to carry (`param_location: body`): the auth
 *   code decides about it.
 * @returns whether the body has a field beyond the plain ones (tools, seed, response_format, …),
 *   which the formats then map; plain requests skip that work.
 * @throws ProxyError 400 `unsupported_parameter` with `param` naming the first such field.
 */
export function checkRequestFields(body: Record<string, unknown>, kind: RouteKind, target: ContractTarget, authField?: string): boolean {
  // openai passes the body on as it is: nothing to refuse, nothing to map.
  if (target === 'openai') return false;
  const accepted = ALWAYS_ACCEPTED[kind][target];
  let extras = false;
  for (const field in body) {
    const value = body[field];
    if (value === null || value === undefined || field === authField) continue;
    if (!PLAIN_FIELDS.has(field)) extras = true;
    if (accepted.has(field)) continue;
    const cell = fieldCell(kind, field, target);
    if (cell.use === 'refused') {
      if (!cell.noop?.test(value)) throw unsupportedParameter(field, target, cell.why);
    } else if (cell.use === 'mapped' && cell.refuse) {
      const why = cell.refuse(value);
      if (why !== undefined) throw unsupportedParameter(field, target, why);
    }
  }
  return extras;
}

/**
 * A numeric field of the body, checked; undefined when not given.
 * @throws ProxyError 400 `invalid_value` naming the field.
 */
export function readNumberField(body: Record<string, unknown>, key: string, min: number, max: number, integer: boolean): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
    throw invalidValue(key, `must be ${integer ? 'an integer' : 'a number'} ${max === Infinity ? `>= ${min}` : `between ${min} and ${max}`}`);
  }
  return v;
}
