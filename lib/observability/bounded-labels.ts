/** Distinct values a label keeps before further ones are counted as `_other`. */
export const MAX_LABEL_VALUES = 100;
const MAX_LABEL_LENGTH = 100;

/**
 * Keeps a label's value set bounded: model names can come from requests (when the route names no
 * model), and every distinct label value is a new time series in the metrics backend.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(private readonly max = MAX_LABEL_VALUES) {}

  value(v: string): string {
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.max || v.length > MAX_LABEL_LENGTH) return '_other';
    this.seen.add(v);
    return v;
  }
}
