/**
 * Parse and bind KQL with the real Kusto language service (@kusto/language-service-next), against table
 * schemas we declare. The package is a Bridge.NET build: bridge.js must be loaded first, and both attach
 * themselves to the global object (`Bridge`, `Kusto`) instead of exporting.
 */

export type KustoType =
  'string' | 'datetime' | 'dynamic' | 'int' | 'long' | 'real' | 'bool' | 'guid' | 'timespan';

export interface TableSchema {
  readonly name: string;
  readonly columns: readonly { readonly name: string; readonly type: KustoType }[];
}

export interface KqlDiagnostic {
  readonly severity: string;
  readonly code: string;
  readonly message: string;
  readonly start: number;
  readonly length: number;
}

export interface KqlAnalysis {
  /** Errors and warnings from parsing and binding. */
  readonly diagnostics: readonly KqlDiagnostic[];
  /** Only the errors. */
  readonly errors: readonly KqlDiagnostic[];
  /** Columns of the query's tabular result (empty when it is not tabular). */
  readonly resultColumns: readonly { readonly name: string; readonly type: string }[];
}

interface BridgeList<T> {
  readonly Count: number;
  getItem(index: number): T;
}
interface KColumn {
  readonly Name: string;
  readonly Type: { readonly Name: string };
}
interface KTable {
  readonly Columns?: BridgeList<KColumn>;
  WithName(name: string): KTable;
}
interface KDiagnostic {
  readonly Severity: string;
  readonly Code: string;
  readonly Message: string;
  readonly Start: number;
  readonly Length: number;
}
interface KCode {
  readonly ResultType: KTable | null;
  GetDiagnostics(): BridgeList<KDiagnostic>;
}
interface KGlobals {
  WithDatabase(db: unknown): KGlobals;
}
interface KustoLanguage {
  readonly Symbols: {
    readonly TableSymbol: { From(schema: string): KTable };
    readonly DatabaseSymbol: { readonly ctor: new (name: string, members: KTable[]) => unknown };
  };
  readonly GlobalState: { readonly Default: KGlobals };
  readonly KustoCode: { ParseAndAnalyze(text: string, globals: KGlobals): KCode };
}

let language: KustoLanguage | undefined;

function kusto(): KustoLanguage {
  if (!language) {
    // Scripts that define globals rather than export: loaded for their side effect, in this order.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@kusto/language-service-next/bridge.js');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@kusto/language-service-next');
    const loaded = (globalThis as { Kusto?: { Language?: KustoLanguage } }).Kusto?.Language;
    if (!loaded) throw new Error('@kusto/language-service-next did not define the global Kusto.Language');
    language = loaded;
  }
  return language;
}

function list<T>(items: BridgeList<T> | null | undefined): T[] {
  const out: T[] = [];
  if (!items) return out;
  for (let i = 0; i < items.Count; i++) out.push(items.getItem(i));
  return out;
}

function quoteName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `['${name}']`;
}

/** Parses and binds `query` in a database holding exactly `tables`. */
export function analyzeKql(query: string, tables: readonly TableSchema[]): KqlAnalysis {
  const K = kusto();
  const symbols = tables.map((t) =>
    K.Symbols.TableSymbol.From(
      `(${t.columns.map((c) => `${quoteName(c.name)}:${c.type}`).join(', ')})`,
    ).WithName(t.name),
  );
  const globals = K.GlobalState.Default.WithDatabase(new K.Symbols.DatabaseSymbol.ctor('workspace', symbols));
  const code = K.KustoCode.ParseAndAnalyze(query, globals);
  const diagnostics = list(code.GetDiagnostics()).map((d) => ({
    severity: d.Severity,
    code: d.Code,
    message: d.Message,
    start: d.Start,
    length: d.Length,
  }));
  const resultColumns = list(code.ResultType?.Columns).map((c) => ({ name: c.Name, type: c.Type.Name }));
  return { diagnostics, errors: diagnostics.filter((d) => d.severity === 'Error'), resultColumns };
}

/** Readable diagnostics: `KS142 at line 3: The name 'x' ...`. */
export function describeDiagnostics(query: string, diagnostics: readonly KqlDiagnostic[]): string[] {
  return diagnostics.map((d) => {
    const line = query.slice(0, d.start).split('\n').length;
    const near = query.slice(d.start, d.start + Math.max(d.length, 1));
    return `${d.severity} ${d.code} at line ${line} near ${JSON.stringify(near)}: ${d.message}`;
  });
}
