import { ProxyError } from '../errors';
import { fieldCell, TARGET_LABELS, type ContractTarget, type RouteKind } from './request-fields';

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

/**
 * Refuses, from the contract table, every field of the body the route's upstream cannot honour.
 * `null` counts as not given (OpenAI's SDKs and LangChain send it for unset options).
 * @param authField the body field `auth` is configured to carry (`param_location: body`): the auth
 *   code decides about it.
 * @throws ProxyError 400 `unsupported_parameter` with `param` naming the first such field.
 */
export function checkRequestFields(body: Record<string, unknown>, kind: RouteKind, target: ContractTarget, authField?: string): void {
  if (target === 'openai') return;
  for (const field of Object.keys(body)) {
    if (field === authField) continue;
    const value = body[field];
    if (value === null || value === undefined) continue;
    const cell = fieldCell(kind, field, target);
    if (cell.use === 'refused') {
      if (!cell.noop?.test(value)) throw unsupportedParameter(field, target, cell.why);
    } else if (cell.use === 'mapped' && cell.refuse) {
      const why = cell.refuse(value);
      if (why !== undefined) throw unsupportedParameter(field, target, why);
    }
  }
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
