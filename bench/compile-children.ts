/**
 * The child processes run as plain JavaScript: under `--import tsx` a Node 20 process carries tsx's
 * loader thread (about +30-45 MB RSS and some start-up CPU), which would blur the proxy's own
 * peak RSS. So the few bench files a child needs are transpiled once per run with TypeScript's
 * `transpileModule` (no type check; `npm run typecheck` does that) into a git-ignored directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const CHILD_FILES = ['child-ipc.ts', 'payloads.ts', 'upstream.ts', 'proxies.ts', 'otel-sdk.ts'];

/** Transpiles the child entry points into `outDir` (CommonJS, one .js per .ts) and returns it. */
export function compileChildren(outDir: string): string {
  fs.mkdirSync(outDir, { recursive: true });
  for (const file of CHILD_FILES) {
    const source = fs.readFileSync(path.join(__dirname, file), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    });
    fs.writeFileSync(path.join(outDir, file.replace(/\.ts$/, '.js')), outputText);
  }
  return outDir;
}
