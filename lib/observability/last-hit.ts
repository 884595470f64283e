/**
 * Per-request lookups of what was made once per label combination (bound Prometheus series,
 * OpenTelemetry attribute sets): nearly every request of a route repeats the previous one's
 * combination, so the last one is checked first, by identity, before any key is built.
 */
export class LastHit<V, C extends string | number = string> {
  private a: unknown;
  private b: unknown;
  private c: unknown;
  private d: unknown;
  private value: V | undefined;
  private readonly byKey = new Map<string, V>();

  /**
   * @param make makes the value of a combination (once, while fewer than `max` are kept).
   * @param max past this many combinations, values are made afresh each time (the cache stays bounded).
   */
  constructor(
    private readonly make: (a: string, b: string, c: C, d: string) => V,
    private readonly max: number,
  ) {}

  get(a: string, b: string, c: C, d: string): V {
    if (this.value !== undefined && a === this.a && b === this.b && c === this.c && d === this.d) return this.value;
    // Lengths first: a client's model name may hold any character, separators included, and two
    // combinations must never share a key.
    const key = `${a.length}:${a}${b.length}:${b}${String(c).length}:${c}${d}`;
    let value = this.byKey.get(key);
    if (value === undefined) {
      value = this.make(a, b, c, d);
      if (this.byKey.size < this.max) this.byKey.set(key, value);
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    this.value = value;
    return value;
  }
}
