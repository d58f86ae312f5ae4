/*
 * Raw bytes → text, for the encodings exports actually arrive in: UTF-8 (with or without a BOM), UTF-16
 * with a BOM (what Windows PowerShell 5.1's `>` writes, e.g. `Get-AzActivityLog | ConvertTo-Json > x.json`)
 * and gzip (compressed archives and bodies). Decompression is bounded, so a small message cannot expand
 * into unbounded memory.
 */
import type * as Zlib from 'node:zlib';
import { errorText } from '../lib/errorText';

/**
 * node:zlib is loaded on the first gzip body, not at import: no Activity Log export is compressed, and its
 * loading was a sixth of the detector's own import time (BENCHMARKS.md › Cold start).
 */
let zlib: typeof Zlib | undefined;
function gunzipSync(buf: Buffer, options: Zlib.ZlibOptions): Buffer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a synchronous, deferred load
  zlib ??= require('node:zlib') as typeof Zlib;
  return zlib.gunzipSync(buf, options);
}

/** Largest decompressed size accepted for one message (an Event Hubs event is at most 1 MB compressed). */
export const MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

export type BytesAsText =
  | { readonly ok: true; readonly text: string; readonly encoding: 'utf8' | 'utf16le' | 'utf16be' | 'gzip' }
  | { readonly ok: false; readonly reason: string };

function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 3 && buf[0] === 0x1f && buf[1] === 0x8b && buf[2] === 0x08;
}

function utf16Text(buf: Buffer): { text: string; encoding: 'utf16le' | 'utf16be' } | undefined {
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) {
    return { text: buf.toString('utf16le', 2), encoding: 'utf16le' };
  }
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) {
    const swapped = Buffer.from(buf.subarray(2, buf.length - ((buf.length - 2) % 2)));
    swapped.swap16();
    return { text: swapped.toString('utf16le'), encoding: 'utf16be' };
  }
  return undefined;
}

export function bytesAsText(buf: Buffer): BytesAsText {
  if (isGzip(buf)) {
    let inflated: Buffer;
    try {
      inflated = gunzipSync(buf, { maxOutputLength: MAX_DECOMPRESSED_BYTES });
    } catch (error) {
      return {
        ok: false,
        reason: `Expected a gzip body that inflates to at most ${MAX_DECOMPRESSED_BYTES} bytes: ${errorText(error, 300)}`,
      };
    }
    const inner = utf16Text(inflated);
    return { ok: true, text: inner?.text ?? inflated.toString('utf8'), encoding: 'gzip' };
  }
  const utf16 = utf16Text(buf);
  if (utf16) return { ok: true, ...utf16 };
  return { ok: true, text: buf.toString('utf8'), encoding: 'utf8' };
}
