/* Loggers of the command-line hosts: JSON lines for `consume` (log collectors, jq). */
import { redactText } from '../lib/redact';
import type { Logger } from '../pipeline/ports';

export type LogLevel = 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['info', 'warn', 'error'];
const RANK: Readonly<Record<LogLevel, number>> = { info: 0, warn: 1, error: 2 };

/** One JSON object per line: what container log collectors and `jq` expect. */
export function jsonLogger(stream: NodeJS.WritableStream, minimum: LogLevel): Logger {
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (RANK[level] < RANK[minimum]) return;
    const { summary: _summary, ...rest } = fields ?? {};
    // Redacted as a whole line, whatever a field holds.
    stream.write(
      `${redactText(JSON.stringify({ time: new Date().toISOString(), level, message, ...rest }))}\n`,
    );
  };
  return {
    info: (message, fields) => {
      write('info', message, fields);
    },
    warn: (message, fields) => {
      write('warn', message, fields);
    },
    error: (message, fields) => {
      write('error', message, fields);
    },
  };
}
