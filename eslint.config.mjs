// Type-aware linting over everything TypeScript in the repo; Prettier owns formatting.
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.bicep/**',
      'bin/**',
      'eslint.config.mjs',
      'jest.config.js',
    ],
  },
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // One tree-shakable zod for the function bundle (src/lib/zod.ts says why).
    files: ['src/**/*.ts'],
    ignores: ['src/lib/zod.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'zod', message: "Import * as z from the project's src/lib/zod.ts (zod/mini)." }],
          patterns: [
            { group: ['zod/*'], message: "Import * as z from the project's src/lib/zod.ts (zod/mini)." },
          ],
        },
      ],
    },
  },
  {
    // Spreading an array into a call puts every element on the stack: past ~100,000 elements it throws
    // RangeError (a 300 KB message of bad lines was enough to fail every retry of a batch). Loop instead.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'CallExpression[callee.property.name=/^(push|unshift|splice|concat)$/] > SpreadElement',
          message:
            'No spread into push/unshift/splice/concat: an unbounded array overflows the stack. Loop instead.',
        },
        {
          selector: "CallExpression[callee.object.name='Math'] > SpreadElement",
          message:
            'No spread into Math.min/max: an unbounded array overflows the stack. Use a loop or reduce.',
        },
        {
          selector: "CallExpression[callee.object.name='String'] > SpreadElement",
          message:
            'No spread into String.fromCharCode/fromCodePoint: an unbounded array overflows the stack.',
        },
        {
          selector: "CallExpression[callee.property.name='apply'][arguments.length=2]",
          message: 'No fn.apply(this, array): an unbounded array overflows the stack. Loop instead.',
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  prettier,
);
