// Builds dist/: CommonJS + declarations from tsc, then a thin ESM entry over the same CommonJS
// module, so `import` and `require` share one copy (one AiProxyConfigError class, not two).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { rmSync, writeFileSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });

const names = Object.keys(createRequire(import.meta.url)('../dist/index.js')).filter((n) => n !== '__esModule');
writeFileSync('dist/index.mjs', `import cjs from './index.js';\nexport const { ${names.join(', ')} } = cjs;\n`);
writeFileSync('dist/index.d.mts', `export * from './index.js';\n`);
console.log(`built dist/ (exports: ${names.join(', ')})`);
