/**
 * The process-level baseline of the scan benchmark: a program that merely reads every file of a folder
 * and `JSON.parse`s it, the least any scanner that parses every body pays. Prints the record count.
 * `node dist/bench/parseAllProcess.js <dir>`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: parseAllProcess.js <dir>');
let records = 0;
for (const name of readdirSync(dir).sort()) {
  const body = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { records?: unknown[] };
  records += body.records?.length ?? 0;
}
process.stdout.write(`${records}\n`);
