// ESLint flat config. Type-aware rules for the TypeScript sources (one program: test/tsconfig.json
// covers lib/, test/, bench/ and example-app/); plain recommended rules for the .mjs scripts.
// Formatting is Prettier's job: no stylistic rules here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The transport (lib/proxy.ts) is the only module that talks to http-proxy-middleware, so the rest of
// the code depends on our own small interface and the dependency can be swapped or upgraded in one place.
const transportOnly = {
  group: ['http-proxy-middleware', 'http-proxy-middleware/*', 'http-proxy', 'http-proxy/*'],
  message: 'Only the transport module (lib/proxy.ts) may import http-proxy-middleware; go through lib/proxy.ts.',
};

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', '.scratch/', '.ci/', 'bench/results/'] },
  {
    files: ['**/*.{ts,mts,cts}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: './test/tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The promise rules the issue asks for: an unhandled rejection or a promise passed where a
      // callback is expected can take the host server down.
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [transportOnly] }],
      // Passing on a caught error as it is (typed unknown or any) is fine; rejecting with a literal is not.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // Deliberate: `!` after a checked index in hot loops (noUncheckedIndexedAccess is on).
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `_`-prefixed names are unused on purpose (callback signatures, destructuring to omit a field).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  {
    // The library runs inside the user's server: debug (express-ai-proxy:*) is the only logger.
    files: ['lib/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // Tests, fakes, the benchmark and the example read parsed JSON bodies as `any` on purpose: the
    // assertions are the type check. The library itself keeps the no-unsafe-* rules.
    files: ['test/**/*.ts', 'bench/**/*.ts', 'example-app/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // A test callback may be async without awaiting; the runner awaits it either way.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The transport module itself, and the benchmark's bare http-proxy-middleware baseline row
    // (it measures the dependency on its own, so it has to import it).
    files: ['lib/proxy.ts', 'bench/proxies.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': 'off' },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
);
