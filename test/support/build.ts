import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { FUNCTION_BUNDLE } from '../../scripts/bundle-function';

export const ROOT = path.join(__dirname, '../..');

/**
 * Tests that run compiled code (child processes, real Node module loading) must run what the sources say:
 * `npm test` builds first; this names the problem when dist/ is missing or older than a source file.
 */
export function buildProblems(sourceDirs: readonly string[]): string[] {
  const problems: string[] = [];
  for (const dir of sourceDirs) {
    for (const file of readdirSync(path.join(ROOT, dir))) {
      if (!file.endsWith('.ts')) continue;
      const source = path.join(ROOT, dir, file);
      const built = path.join(ROOT, 'dist', dir, file.replace(/\.ts$/, '.js'));
      if (!existsSync(built)) problems.push(`missing ${path.relative(ROOT, built)} (run npm run build)`);
      else if (statSync(built).mtimeMs < statSync(source).mtimeMs) {
        problems.push(`${path.relative(ROOT, built)} is older than its source (run npm run build)`);
      }
    }
  }
  return problems;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(path.join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [path.join(dir, e.name)]
        : [],
  );
}

/** The same for the function bundle (package.json `main`), which is built from every file under src/. */
export function bundleProblems(): string[] {
  const bundle = path.join(ROOT, FUNCTION_BUNDLE);
  if (!existsSync(bundle)) return [`missing ${FUNCTION_BUNDLE} (run npm run build)`];
  const builtAt = statSync(bundle).mtimeMs;
  const newer = sourceFiles(path.join(ROOT, 'src')).filter((f) => statSync(f).mtimeMs > builtAt);
  return newer.length === 0
    ? []
    : [`${FUNCTION_BUNDLE} is older than ${path.relative(ROOT, newer[0]!)} (run npm run build)`];
}
