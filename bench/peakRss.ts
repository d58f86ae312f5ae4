/**
 * Preloaded into a measured process (`node -r dist/bench/peakRss.js ...`): when it exits, writes its peak
 * resident set size in bytes to the file named by PEAK_RSS_FILE. RSS covers the V8 heap and Buffers alike.
 * On Linux it is `VmHWM` from /proc/self/status, which starts afresh at exec; `resourceUsage().maxRSS`
 * would carry over the peak of the (large) benchmark process the child was forked from.
 */
import { readFileSync, writeFileSync } from 'node:fs';

function peakRssBytes(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m?.[1]) return Number(m[1]) * 1024;
  } catch {
    // Not Linux: fall back below.
  }
  return process.resourceUsage().maxRSS * 1024;
}

const target = process.env.PEAK_RSS_FILE;
if (target !== undefined) {
  process.on('exit', () => {
    writeFileSync(target, String(peakRssBytes()));
  });
}
