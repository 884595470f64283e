import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags } from '../../bench/flags';
import { formatBaseline, formatRows, type RowResult } from '../../bench/table';
import { compareWithBaseline, ROWS, withBaseline } from '../../bench/throughput';

function row(name: string, perRound: number[], extra: Partial<RowResult> = {}): RowResult {
  const reqPerSec = perRound.reduce((a, b) => a + b, 0) / perRound.length;
  return { name, label: name, reqPerSec, p50Ms: 1, p99Ms: 2, errors: 0, upstreamCpuPct: 10, loadgenCpuPct: 10, perRound, check: 'ok', ...extra };
}

describe('bench --baseline: both builds in the same rounds', () => {
  test('each aiProxy row gets a copy on the other build; the passthrough and the upstream do not', () => {
    const chosen = ROWS.filter((r) => ['upstream', 'passthrough', 'ollama', 'ollama-tools', 'passthrough-stream', 'ollama-stream'].includes(r.name));
    const specs = withBaseline(chosen, '/old/dist/index.js');
    assert.deepEqual(
      specs.map((s) => [s.name, s.ref, s.entry]),
      [
        ['upstream', undefined, undefined],
        ['passthrough', undefined, undefined],
        ['ollama', 'passthrough', undefined],
        ['ollama@baseline', 'passthrough', '/old/dist/index.js'],
        ['ollama-tools', 'ollama', undefined],
        // Compared with the baseline's own `ollama`, so both builds' ratios mean the same.
        ['ollama-tools@baseline', 'ollama@baseline', '/old/dist/index.js'],
        ['passthrough-stream', undefined, undefined],
        ['ollama-stream', 'passthrough-stream', undefined],
        ['ollama-stream@baseline', 'passthrough-stream', '/old/dist/index.js'],
      ],
    );
    assert.match(specs.find((s) => s.name === 'ollama@baseline')!.label, /\[baseline\]$/);
  });

  test('each row over its copy, whole run and round by round', () => {
    const rows = [row('passthrough', [100, 100]), row('ollama', [90, 60, 80, 70]), row('ollama@baseline', [100, 50, 100, 70])];
    const [c] = compareWithBaseline(rows);
    assert.equal(c!.row, 'ollama');
    assert.equal(c!.ratio, 300 / 320);
    assert.deepEqual(c!.perRound, [0.9, 1.2, 0.8, 1]);
    assert.equal(c!.perRoundMedian, 0.95);
    const text = formatBaseline([c!], '/old/dist/index.js');
    assert.match(text, /ollama\s+0\.938\s+per round: median 0\.950, 0\.800–1\.200/);
  });

  test('a row either build could not serve is left out of the comparison', () => {
    const rows = [
      row('ollama-tools', [90]),
      row('ollama-tools@baseline', [], { check: 'no tool call in …' }),
      row('ollama', [90]),
      row('ollama@baseline', [100]),
    ];
    assert.deepEqual(
      compareWithBaseline(rows).map((c) => c.row),
      ['ollama'],
    );
    assert.match(formatBaseline([], '/old/dist/index.js'), /No row was measured on both builds/);
  });

  test('a round in which the baseline served nothing has no ratio (not Infinity)', () => {
    const [c] = compareWithBaseline([row('ollama', [90, 80, 70]), row('ollama@baseline', [100, 0, 70])]);
    assert.deepEqual(c!.perRound, [0.9, 1]);
    assert.equal(c!.perRoundMedian, 0.95);
    assert.match(formatBaseline([c!], 'b'), /median 0\.950, 0\.900–1\.000/);
  });

  test('a row not measured, however long its reason, does not widen the table', () => {
    const rows = [row('ollama', [90]), row('ollama-tools@baseline', [], { check: 'no tool call in ' + 'x'.repeat(300) })];
    const lines = formatRows(rows).split('\n');
    assert.equal(lines[0]!.length, lines[1]!.length, 'head and rule line up');
    assert.ok(lines[0]!.length < 200, `the head stays narrow: ${lines[0]!.length} characters`);
    assert.match(lines[3]!, /^ollama-tools@baseline\s+NOT MEASURED: no tool call in x+$/);
  });

  test('--baseline names a built entry', () => {
    assert.equal(parseFlags(['--baseline=../old/dist/index.js']).baseline, '../old/dist/index.js');
    assert.equal(parseFlags([]).baseline, undefined);
    assert.throws(() => parseFlags(['--baseline=../old']), /--baseline must name a build's dist\/index\.js/);
  });
});
