/** Compares two column lists (order, names, types) and says what drifted, one line per difference. */
export function columnDrift(
  expected: readonly { name: string; type: string }[],
  actual: readonly { name: string; type: string }[],
): string[] {
  const problems: string[] = [];
  const actualByName = new Map(actual.map((c) => [c.name, c]));
  const expectedNames = new Set(expected.map((c) => c.name));
  for (const e of expected) {
    const a = actualByName.get(e.name);
    if (!a) problems.push(`missing column ${e.name} (${e.type})`);
    else if (a.type !== e.type) problems.push(`column ${e.name}: type ${a.type}, expected ${e.type}`);
  }
  for (const a of actual)
    if (!expectedNames.has(a.name)) problems.push(`unexpected column ${a.name} (${a.type})`);
  if (problems.length === 0 && expected.map((c) => c.name).join() !== actual.map((c) => c.name).join()) {
    problems.push(`column order differs: ${actual.map((c) => c.name).join(', ')}`);
  }
  return problems;
}
