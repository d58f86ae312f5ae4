import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectBatch } from '../../../src/pipeline/detectBatch';
import { ROOT } from '../../support/build';

/**
 * `scan` as a real process: a reader that goes away (`scan | head -1`), and a folder the user may not
 * read. The CLI runs from dist/ (`npm test` builds it first).
 */
const BIN = join(ROOT, 'bin/packet-capture-detector.js');
const samples = join(ROOT, 'samples');
const env = { PATH: process.env.PATH, HOME: process.env.HOME };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pcd-scan-proc-'));
  chmodSync(dir, 0o755);
  // Enough distinct alerts (about 2,000 rows, several MB) that the output overflows a pipe's buffer.
  const body = JSON.parse(readFileSync(join(samples, 'capture-operations.eventhub.json'), 'utf8')) as {
    records: Record<string, unknown>[];
  };
  const alerting = body.records.filter(
    (r) => detectBatch([JSON.stringify(r)], () => ({})).alerts.length === 1,
  );
  const lines: string[] = [];
  for (let i = 0; i < 2_000; i++) {
    lines.push(
      JSON.stringify({
        ...alerting[i % alerting.length],
        correlationId: `bbbbbbbb-0000-0000-0000-${String(i).padStart(12, '0')}`,
      }),
    );
  }
  writeFileSync(join(dir, 'many.json'), lines.join('\n') + '\n');
  chmodSync(join(dir, 'many.json'), 0o644);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const noStackTrace = (stderr: string) => {
  expect(stderr).not.toMatch(/EPIPE|Unhandled|node:internal|^\s+at /m);
};

describe('scan as a process', () => {
  it('ends quietly when its reader closes the pipe: scan | head -1', () => {
    const r = spawnSync(
      'bash',
      [
        '-c',
        `node "${BIN}" scan "${join(dir, 'many.json')}" 2>"${join(dir, 'err.txt')}" | head -1; echo "\${PIPESTATUS[0]}" >&2`,
      ],
      {
        env,
        encoding: 'utf8',
      },
    );
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect((JSON.parse(lines[0] ?? '{}') as { AlertId?: unknown }).AlertId).toMatch(/^[0-9a-f]{32}$/);
    const stderr = readFileSync(join(dir, 'err.txt'), 'utf8');
    noStackTrace(stderr);
    expect(stderr).toMatch(/^scanned 1 file, .*; 2000 alerts/);
    expect(r.stderr.trim()).toBe('0');
  });

  it('ends quietly when standard output is closed before it writes', async () => {
    const child = spawn(process.execPath, [BIN, 'scan', '--format', 'table', join(dir, 'many.json')], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    noStackTrace(stderr);
    expect(stderr).toMatch(/^scanned 1 file/);
    expect(code).toBe(0);
  });

  it('reports a folder it may not read, scans the rest, and exits 1 (run as an unprivileged user)', () => {
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'ok'), { recursive: true });
    mkdirSync(join(tree, 'locked'));
    writeFileSync(join(tree, 'ok', 'seed.json'), readFileSync(join(samples, 'seed-tests.eventhub.json')));
    writeFileSync(
      join(tree, 'locked', 'hidden.json'),
      readFileSync(join(samples, 'seed-tests.eventhub.json')),
    );
    writeFileSync(join(tree, 'ok', 'secret.json'), readFileSync(join(samples, 'seed-tests.eventhub.json')));
    for (const p of [tree, join(tree, 'ok')]) chmodSync(p, 0o755);
    chmodSync(join(tree, 'ok', 'seed.json'), 0o644);
    chmodSync(join(tree, 'ok', 'secret.json'), 0o000);
    chmodSync(join(tree, 'locked'), 0o000);
    // Root reads everything; as root the CLI runs as `nobody` so that permissions apply.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const r = spawnSync(process.execPath, [BIN, 'scan', tree], { env, encoding: 'utf8', ...asUser });
    chmodSync(join(tree, 'locked'), 0o755);
    noStackTrace(r.stderr);
    expect(r.stderr).toContain(`scan: cannot read ${join(tree, 'locked')}: EACCES`);
    expect(r.stderr).toContain(`scan: cannot read ${join(tree, 'ok', 'secret.json')}: EACCES`);
    expect(r.stderr).toMatch(/scanned 1 file, .*; 3 alerts, 0 malformed, 2 unreadable/);
    expect(r.stdout.split('\n').filter((l) => l !== '')).toHaveLength(3);
    expect(r.status).toBe(1);
  });
});
