#!/usr/bin/env node
'use strict';
// The CLI runs the compiled TypeScript; `npm ci` builds it (the `prepare` script).
let cli;
try {
  cli = require('../dist/src/cli/main.js');
} catch (error) {
  if (error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes('dist/src/cli/main.js')) {
    process.stderr.write(
      'packet-capture-detector: not built yet. Run "npm run build" (or "npm ci") first.\n',
    );
    process.exit(2);
  }
  throw error;
}
cli.runCli();
