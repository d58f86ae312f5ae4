/** Rewrites README's generated tables (alert columns, settings) from the code: `npm run docs:generate`. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderReadme } from '../src/docs/tables';

const path = join(__dirname, '../../README.md');
const before = readFileSync(path, 'utf8');
const after = renderReadme(before);
if (after !== before) writeFileSync(path, after);
console.log(after === before ? 'README.md tables are up to date' : 'README.md tables rewritten');
