/**
 * Renders the request contract table (lib/contract/request-fields.ts) as the README's Markdown, so
 * the README cannot drift from the code: test/unit/request-fields-readme.test.ts compares them.
 * Regenerate the README section with:
 *   node --import tsx test/support/request-fields-table.ts --write
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  CONTRACT_TARGETS,
  OLLAMA_OPTION_KNOBS,
  OLLAMA_TOP_LEVEL_KNOBS,
  REQUEST_FIELDS,
  TARGET_LABELS,
  type FieldCell,
  type RouteKind,
} from '../../lib/contract/request-fields';

export const START = '<!-- request-fields:start (generated from lib/contract/request-fields.ts) -->';
export const END = '<!-- request-fields:end -->';
const KNOBS = new Set<string>([...OLLAMA_TOP_LEVEL_KNOBS, ...OLLAMA_OPTION_KNOBS]);

function cellText(cell: FieldCell): string {
  switch (cell.use) {
    case 'mapped':
      return cell.as;
    case 'passed':
      return 'passed';
    case 'refused':
      return `**400**: ${cell.why}${cell.noop ? ` (${cell.noop.text} accepted)` : ''}`;
    case 'ignored':
      return `ignored: ${cell.why}`;
  }
}

function table(kind: RouteKind): string {
  const head = `| field | ${CONTRACT_TARGETS.map((t) => TARGET_LABELS[t]).join(' | ')} |`;
  const rule = `|---|${CONTRACT_TARGETS.map(() => '---').join('|')}|`;
  const rows = Object.entries(REQUEST_FIELDS[kind])
    .filter(([field]) => !KNOBS.has(field))
    .map(([field, row]) => `| \`${field}\` | ${CONTRACT_TARGETS.map((t) => cellText(row[t]).replace(/\|/g, '\\|')).join(' | ')} |`);
  return [head, rule, ...rows].join('\n');
}

/** The generated README section, markers included. */
export function renderRequestFieldsSection(): string {
  return [
    START,
    '',
    '**`llm/v1/chat`**',
    '',
    table('chat'),
    '',
    '**`llm/v1/completions`**',
    '',
    table('completions'),
    '',
    `**Ollama settings** (\`ollama\` routes: from \`model.options.ollama\` or the request; refused on \`raw\`, passed on \`openai\`): ` +
      `${OLLAMA_TOP_LEVEL_KNOBS.map((k) => `\`${k}\``).join(', ')} (next to \`messages\`); ${OLLAMA_OPTION_KNOBS.map((k) => `\`${k}\``).join(', ')} (in \`options\`).`,
    '',
    END,
  ].join('\n');
}

/** The README with its generated section replaced. */
export function withSection(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start === -1 || end === -1) throw new Error('README.md has no request-fields markers');
  return readme.slice(0, start) + renderRequestFieldsSection() + readme.slice(end + END.length);
}

export const README = path.join(__dirname, '..', '..', 'README.md');

if (process.argv.includes('--write')) {
  writeFileSync(README, withSection(readFileSync(README, 'utf8')));
}
