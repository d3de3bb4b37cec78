import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // The trace viewer Jaeger serves (tools/jaeger/ui, docs/tracing.md) is browser JavaScript with no build step: linted.
  {
    ignores: ['dist/', 'node_modules/', '.data/', '.tools/', 'coverage/', '**/*.js', '**/*.mjs', '!tools/jaeger/ui/**'],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  // Layout is Prettier's job (npm run format:check); ESLint checks what code does.
  prettier,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code must stay deterministic: no Node APIs, no I/O modules, only types from the rest of the tree.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'crypto', 'http', 'https', 'net', 'os', 'path'],
              message: 'Workflows must be deterministic: no Node APIs.',
            },
            {
              group: ['../src/*', '../src/**', '../activities', '../activities/*'],
              allowTypeImports: true,
              message: 'Workflows may import only types from src/ and activities/.',
            },
          ],
        },
      ],
    },
  },
  {
    // The shared vocabulary is imported by every layer, workflow code included: it imports nothing itself.
    files: ['workflows/vocabulary.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['*'], message: 'The vocabulary imports nothing (docs/architecture.md).' }] },
      ],
    },
  },
  {
    files: ['tools/jaeger/ui/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'module',
      globals: {
        window: 'readonly',
        document: 'readonly',
        location: 'readonly',
        fetch: 'readonly',
        URL: 'readonly',
        URLSearchParams: 'readonly',
      },
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Assertions on parsed JSON bodies are the point of these tests.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
