import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CONTRACT_TARGETS, REQUEST_FIELDS } from '../../lib/contract/request-fields';
import { END, README, START, renderRequestFieldsSection } from '../support/request-fields-table';

test('the README shows the request contract table exactly as the code has it', () => {
  const readme = readFileSync(README, 'utf8');
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  assert.ok(start !== -1 && end > start, 'README.md has the request-fields markers');
  assert.equal(
    readme.slice(start, end + END.length),
    renderRequestFieldsSection(),
    'README.md is out of date: run node --import tsx test/support/request-fields-table.ts --write',
  );
});

test('every row of the table has a cell for every upstream', () => {
  for (const kind of ['chat', 'completions'] as const) {
    for (const [field, row] of Object.entries(REQUEST_FIELDS[kind])) {
      for (const target of CONTRACT_TARGETS) assert.ok(row[target], `${kind}.${field} has no ${target} cell`);
    }
  }
});
