import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GENERATED_SECTIONS, renderReadme } from '../../src/docs/tables';

const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');

describe('README', () => {
  it('starts with the two set-up commands', () => {
    const head = readme.split('\n').slice(0, 15).join('\n');
    expect(head).toContain('npm ci && npm run demo');
    expect(head).toContain('npm ci && npm test');
  });

  it.each(Object.keys(GENERATED_SECTIONS))(
    'has the %s table generated from the code (npm run docs:generate)',
    (name) => {
      expect(readme).toContain(`<!-- generated:${name} -->`);
    },
  );

  it('tables equal what the code defines', () => {
    expect(renderReadme(readme)).toBe(readme);
  });
});
