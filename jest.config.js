// @ts-check
// Tests run from TypeScript sources, transpiled one file at a time (type checking is `npm run typecheck`).
// CommonJS output here turns the lazy `import()` of Azure SDK clients into `require`, which Jest supports
// without the experimental VM modules flag.
/** @type {import('jest').Config['transform']} */
const transform = {
  '^.+\\.ts$': [
    'ts-jest',
    {
      tsconfig: {
        module: 'commonjs',
        moduleResolution: 'node10',
        isolatedModules: true,
        ignoreDeprecations: '6.0',
      },
    },
  ],
};

/** @type {import('jest').Config} */
const common = {
  testEnvironment: 'node',
  transform,
  moduleFileExtensions: ['ts', 'js', 'json'],
  // Dynamic imports carry `.js` (required by nodenext); in tests the source is `.ts`.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  // The staged deployment package (npm run package) holds a second package.json named like this one.
  modulePathIgnorePatterns: ['<rootDir>/dist/package/'],
  // No credential in a test may probe the instance metadata address (test/support/noImds.ts).
  setupFiles: ['<rootDir>/test/support/noImds.ts'],
};

/** @type {import('jest').Config} */
module.exports = {
  // Every test's temporary files go into one directory per run, removed at the end (test/support/tmpRoot.js).
  globalSetup: '<rootDir>/test/support/tmpRootSetup.ts',
  globalTeardown: '<rootDir>/test/support/tmpRootTeardown.ts',
  transform,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['<rootDir>/test/infra/'],
    },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
  ],
};
