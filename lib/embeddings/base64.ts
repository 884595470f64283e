import { UpstreamFormatError } from '../errors';

/**
 * A vector as OpenAI's base64 encoding: little-endian float32, which is what the official SDKs
 * decode (the `openai` SDK asks for base64 by default). Written byte-order explicit so a big-endian
 * host cannot get it wrong.
 */
export function floatsToBase64(vector: number[]): string {
  const view = new DataView(new ArrayBuffer(vector.length * 4));
  for (let i = 0; i < vector.length; i++) view.setFloat32(i * 4, vector[i]!, true);
  return Buffer.from(view.buffer).toString('base64');
}

/** The inverse, for an OpenAI-compatible upstream that answered base64 anyway. */
export function base64ToFloats(text: string): number[] {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 4 !== 0) throw new UpstreamFormatError('an embedding in base64 is not a whole number of float32 values');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<number>(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
