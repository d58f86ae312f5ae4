import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';

/**
 * Spreading an array into a call puts every element on the stack; past ~100,000 elements Node throws
 * RangeError (issue 12: a 300 KB message of bad lines failed every retry of its batch through
 * `problems.push(...bad)`). ESLint forbids it in src/ (eslint.config.mjs, no-restricted-syntax); this test
 * finds the same calls with the TypeScript parser, so the rule cannot quietly go away.
 */
const root = join(__dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Calls whose arguments hold a spread of an array, or that pass an array as `apply`'s arguments. */
export function spreadCalls(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : '';
      const target =
        ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression)
          ? callee.expression.text
          : '';
      const spread = node.arguments.some(ts.isSpreadElement);
      const risky =
        (spread &&
          (['push', 'unshift', 'splice', 'concat'].includes(name) ||
            target === 'Math' ||
            target === 'String')) ||
        (name === 'apply' && node.arguments.length === 2);
      if (risky) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart());
        found.push(`${file}:${line + 1}: ${node.getText().slice(0, 60)}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('no spread of an unbounded array into a call', () => {
  it('finds none in src/', () => {
    const found = sourceFiles(join(root, 'src'))
      .map((f) => relative(root, f).split(sep).join('/'))
      .flatMap((f) => spreadCalls(f, readFileSync(join(root, f), 'utf8')));
    expect(found).toEqual([]);
  });

  it('recognises the forms it forbids', () => {
    const text = [
      'out.push(...bad);',
      'Math.min(...sequences);',
      'Math.max(1, ...xs);',
      'String.fromCharCode(...codes);',
      'Array.prototype.push.apply(a, b);',
      'out.push(a, b); Math.min(a, b); f(...args); [...xs]; ({ ...o });',
    ].join('\n');
    expect(spreadCalls('x.ts', text).map((f) => f.replace(/^x\.ts:\d+: /, ''))).toEqual([
      'out.push(...bad)',
      'Math.min(...sequences)',
      'Math.max(1, ...xs)',
      'String.fromCharCode(...codes)',
      'Array.prototype.push.apply(a, b)',
    ]);
  });
});
