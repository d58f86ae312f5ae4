import { PassThrough } from 'node:stream';
import { formatDuration, progressText, StatusLine, thousands } from '../../../src/cli/scan/status';

describe('the scan status line', () => {
  it('says files, bytes, alerts, rate and time left', () => {
    expect(
      progressText({
        inputsDone: 250,
        inputsTotal: 1000,
        bytesDone: 50 * 1024 * 1024,
        bytesTotal: 200 * 1024 * 1024,
        alerts: 1,
        elapsedMs: 10_000,
      }),
    ).toBe('scan 250/1,000 files · 50.0 MB/200.0 MB · 1 alert · 5.0 MB/s · ETA 0:30');
    expect(
      progressText({
        inputsDone: 3,
        inputsTotal: undefined,
        bytesDone: 2048,
        bytesTotal: undefined,
        alerts: 2,
        elapsedMs: 1000,
        note: 'waiting',
      }),
    ).toBe('scan 3/… files · 2.0 KB · 2 alerts · 2.0 KB/s · waiting');
    expect(formatDuration(3_725_000)).toBe('1:02:05');
    expect([thousands(0), thousands(999), thousands(1000), thousands(1_234_567)]).toEqual([
      '0',
      '999',
      '1,000',
      '1,234,567',
    ]);
  });

  it('draws in place on a terminal, fitted to its width, and prints messages above it', () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 30 });
    let text = '';
    stream.on('data', (d: Buffer) => (text += d.toString()));
    const status = new StatusLine(stream);
    status.update(
      { inputsDone: 1, inputsTotal: 2, bytesDone: 1, bytesTotal: 2, alerts: 0, elapsedMs: 1 },
      true,
    );
    status.log('a message');
    status.clear();
    expect(text).toBe('\r\x1b[Kscan 1/2 files · 1 B/2 B · 0…\r\x1b[Ka message\n');
  });

  it('prints only messages when not on a terminal', () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (d: Buffer) => (text += d.toString()));
    const status = new StatusLine(stream);
    status.update(
      { inputsDone: 1, inputsTotal: 2, bytesDone: 1, bytesTotal: 2, alerts: 0, elapsedMs: 1 },
      true,
    );
    status.log('a message');
    expect(text).toBe('a message\n');
  });
});
