import Joi from 'joi';
import type { AiProxyMetrics } from './types';

/** `observability` after validation. */
export interface ResolvedObservability {
  metrics: AiProxyMetrics | undefined;
  tracing: boolean;
  route_name: string | undefined;
  server_timing: boolean;
}

const isMetrics = (value: unknown, helpers: Joi.CustomHelpers) =>
  typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'prometheus' ? value : helpers.error('any.invalid');

/** The joi schema of `observability` (part of the config schema). */
export const observabilitySchema = Joi.object({
  metrics: Joi.any().custom(isMetrics, 'aiProxyMetrics()').messages({ 'any.invalid': '{{#label}} must be the value of aiProxyMetrics()' }),
  tracing: Joi.boolean().default(false),
  route_name: Joi.string().min(1).max(100),
  server_timing: Joi.boolean().default(true),
}).default({ tracing: false, server_timing: true });
