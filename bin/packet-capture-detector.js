#!/usr/bin/env node
'use strict';
// The CLI runs one bundle of the compiled TypeScript (scripts/bundle-cli.ts); `npm ci` builds it (`prepare`).
let cli;
try {
  cli = require('../dist/cli/packet-capture-detector.js');
} catch (error) {
  if (
    error &&
    error.code === 'MODULE_NOT_FOUND' &&
    String(error.message).includes('dist/cli/packet-capture-detector.js')
  ) {
    process.stderr.write(
      'packet-capture-detector: not built yet. Run "npm run build" (or "npm ci") first.\n',
    );
    process.exit(2);
  }
  throw error;
}
cli.runCli();
