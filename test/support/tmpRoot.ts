/*
 * One temporary directory per test run: every test's mkdtemp (os.tmpdir() reads TMPDIR) lands in it, and it
 * is removed when the run ends, so no test leaves files in /tmp however it ends. Readable by others (0755)
 * because some tests run the CLI as an unprivileged user over files under it.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const KEY = 'PCD_TEST_TMP_ROOT';

export function setupTmpRoot(): void {
  const dir = mkdtempSync(join(tmpdir(), 'pcd-test-run-'));
  chmodSync(dir, 0o755);
  process.env[KEY] = dir;
  // Jest starts its workers after the global setup: they inherit it.
  process.env.TMPDIR = dir;
}

export function teardownTmpRoot(): void {
  const dir = process.env[KEY];
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
