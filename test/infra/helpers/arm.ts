/**
 * Reads compiled ARM templates (Bicep output in .bicep/out/). Literal values are kept; ARM expressions
 * ("[...]") that only use variables(), parameters() defaults, format() and property/index access are
 * evaluated within their own (nested) template, so a test can compare what Bicep compiled to the code's
 * contracts. Ids computed at deployment (resourceId(), guid(), ...) are rendered symbolically; uniqueString()
 * gets a stand-in of the same shape (13 lowercase letters and digits, from a hash of its arguments: not the value
 * Azure computes, but as long, and different whenever the arguments differ); subscription() and
 * managementGroup() are fixed fakes. Anything else (reference(), ...) is reported as unresolvable rather than
 * guessed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..', '..');
export const OUT_DIR = join(ROOT, '.bicep', 'out');

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = Record<string, Json>;

export interface FoundResource {
  readonly type: string;
  readonly resource: JsonObject;
  /** The (nested) template the resource is declared in, for evaluating its expressions. */
  readonly template: JsonObject;
  /** Names of the nested deployments leading to it. */
  readonly path: readonly string[];
}

export class Unresolvable extends Error {}

export const FAKE_SUBSCRIPTION_ID = '00000000-0000-4000-8000-000000000001';
export const FAKE_TENANT_ID = '00000000-0000-4000-8000-0000000000a1';
export const FAKE_MANAGEMENT_GROUP = 'contoso-root';

/** Same shape as ARM's uniqueString() (13 characters, a-z and 0-9), deterministic, not Azure's value. */
export function uniqueStringStandIn(args: readonly string[]): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const digest = createHash('sha256').update(args.join('\u0000')).digest();
  return Array.from(digest.subarray(0, 13), (b) => alphabet[b % alphabet.length]).join('');
}

/** The value as a string; a test that expects text fails clearly on anything else. */
export function text(value: Json | undefined): string {
  if (typeof value !== 'string') throw new Error(`expected a string, got ${JSON.stringify(value)}`);
  return value;
}

export function loadCompiled(relative: string): JsonObject {
  const file = join(OUT_DIR, relative);
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: run \`npm run infra:build\` (or \`npm run infra:check\`) first`);
  }
  return JSON.parse(readFileSync(file, 'utf8')) as JsonObject;
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function resourcesOf(template: JsonObject): JsonObject[] {
  const r = template.resources;
  if (Array.isArray(r)) return r.filter(isObject);
  if (isObject(r)) return Object.values(r).filter(isObject);
  return [];
}

/** Every resource in the template and in its nested deployments (existing references excluded). */
export function allResources(template: JsonObject, path: readonly string[] = []): FoundResource[] {
  const found: FoundResource[] = [];
  for (const resource of resourcesOf(template)) {
    const type = text(resource.type);
    if (resource.existing === true) continue;
    found.push({ type, resource, template, path });
    const nested = isObject(resource.properties) ? resource.properties.template : undefined;
    if (type === 'Microsoft.Resources/deployments' && isObject(nested)) {
      found.push(...allResources(nested, [...path, text(resource.name)]));
    }
  }
  return found;
}

export function resourcesOfType(template: JsonObject, type: string): FoundResource[] {
  return allResources(template).filter((r) => r.type.toLowerCase() === type.toLowerCase());
}

export function onlyResourceOfType(template: JsonObject, type: string): FoundResource {
  const found = resourcesOfType(template, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0]!;
}

/**
 * The one resource of a type declared in the module main.bicep deploys as `<prefix>-<module>` (the nested
 * deployment's name ends so), for types several modules declare (tables, analytics rules).
 */
export function onlyResourceOfTypeIn(template: JsonObject, type: string, module: string): FoundResource {
  const found = resourcesOfType(template, type).filter((r) => r.path.some((p) => p.includes(`-${module}'`)));
  if (found.length !== 1) throw new Error(`expected one ${type} in module ${module}, found ${found.length}`);
  return found[0]!;
}

// ---- expression evaluation ----------------------------------------------------------------------------------

/** What an expression is evaluated with: parameter values (else defaults), lambda variables, copyIndex(). */
export interface EvalContext {
  readonly template: JsonObject;
  readonly parameters?: Readonly<Record<string, Json>>;
  readonly lambdaVariables?: Readonly<Record<string, Json>>;
  readonly copyIndex?: number;
}

type Node =
  | { kind: 'literal'; value: Json }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'property'; target: Node; name: string }
  | { kind: 'index'; target: Node; index: Node };

/** A lambda value: its parameter names and body, evaluated when filter()/map() call it. */
interface Lambda {
  readonly lambda: true;
  readonly params: readonly string[];
  readonly body: Node;
  readonly context: EvalContext;
}
type Value = Json | Lambda;

function isLambda(v: Value | undefined): v is Lambda {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && (v as { lambda?: unknown }).lambda === true
  );
}

type Token =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'ident'; value: string }
  | { kind: 'punct'; value: string };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src.charAt(i);
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new Unresolvable(`unterminated string in ${src}`);
        if (src.charAt(i) === "'") {
          if (src.charAt(i + 1) === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += src.charAt(i);
        i++;
      }
      tokens.push({ kind: 'string', value });
    } else if (/[0-9-]/.test(ch)) {
      const m = /^-?[0-9]+/.exec(src.slice(i));
      if (!m) throw new Unresolvable(`bad number in ${src}`);
      tokens.push({ kind: 'number', value: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_$]/.test(ch)) {
      const m = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(src.slice(i));
      if (!m) throw new Unresolvable(`bad name in ${src}`);
      tokens.push({ kind: 'ident', value: m[0] });
      i += m[0].length;
    } else if ('()[].,'.includes(ch)) {
      tokens.push({ kind: 'punct', value: ch });
      i++;
    } else {
      throw new Unresolvable(`unexpected ${ch} in ${src}`);
    }
  }
  return tokens;
}

function parse(expression: string): Node {
  const tokens = tokenize(expression);
  let pos = 0;
  const isPunct = (t: Token | undefined, p: string): boolean => t?.kind === 'punct' && t.value === p;
  const expect = (p: string): void => {
    if (!isPunct(tokens[pos++], p)) throw new Unresolvable(`expected ${p} in ${expression}`);
  };
  const primary = (): Node => {
    const t = tokens[pos++];
    if (!t) throw new Unresolvable(`unexpected end of ${expression}`);
    let node: Node;
    if (t.kind === 'string' || t.kind === 'number') node = { kind: 'literal', value: t.value };
    else if (t.kind === 'ident' && (t.value === 'true' || t.value === 'false'))
      node = { kind: 'literal', value: t.value === 'true' };
    else if (t.kind === 'ident' && t.value === 'null') node = { kind: 'literal', value: null };
    else if (t.kind === 'ident') {
      expect('(');
      const args: Node[] = [];
      if (isPunct(tokens[pos], ')')) pos++;
      else {
        for (;;) {
          args.push(primary());
          const n = tokens[pos++];
          if (isPunct(n, ')')) break;
          if (!isPunct(n, ',')) throw new Unresolvable(`expected , or ) in ${expression}`);
        }
      }
      node = { kind: 'call', name: t.value.toLowerCase(), args };
    } else throw new Unresolvable(`unexpected ${t.value} in ${expression}`);
    for (;;) {
      if (isPunct(tokens[pos], '.')) {
        pos++;
        const prop = tokens[pos++];
        if (prop?.kind !== 'ident') throw new Unresolvable(`expected a property name in ${expression}`);
        node = { kind: 'property', target: node, name: prop.value };
      } else if (isPunct(tokens[pos], '[')) {
        pos++;
        const index = primary();
        expect(']');
        node = { kind: 'index', target: node, index };
      } else break;
    }
    return node;
  };
  const root = primary();
  if (pos !== tokens.length) throw new Unresolvable(`trailing tokens in ${expression}`);
  return root;
}

/** Scalars as ARM's string() shows them; objects and arrays as JSON. */
function show(value: Value | undefined): string {
  if (isLambda(value)) throw new Unresolvable('a lambda is not a value');
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function json(value: Value): Json {
  if (isLambda(value)) throw new Unresolvable('a lambda is not a value');
  return value;
}

function truthy(value: Value): boolean {
  if (typeof value !== 'boolean') throw new Unresolvable(`expected a boolean, got ${show(value)}`);
  return value;
}

function callLambda(fn: Value, args: Json[]): Json {
  if (!isLambda(fn)) throw new Unresolvable('expected a lambda');
  const vars: Record<string, Json> = { ...fn.context.lambdaVariables };
  fn.params.forEach((name, i) => (vars[name] = args[i] ?? null));
  return json(evalNode(fn.body, { ...fn.context, lambdaVariables: vars }));
}

function evalNode(node: Node, ctx: EvalContext): Value {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'property': {
      const target = evalNode(node.target, ctx);
      if (!isObject(json(target)) || !(node.name in (target as JsonObject)))
        throw new Unresolvable(`no property ${node.name}`);
      return (target as JsonObject)[node.name]!;
    }
    case 'index': {
      const target = json(evalNode(node.target, ctx));
      const index = json(evalNode(node.index, ctx));
      let next: Json | undefined;
      if (Array.isArray(target) && typeof index === 'number') next = target[index];
      else if (isObject(target) && typeof index === 'string') next = target[index];
      else throw new Unresolvable(`cannot index with ${show(index)}`);
      if (next === undefined) throw new Unresolvable(`index ${show(index)} out of range`);
      return next;
    }
    case 'call':
      return callFunction(node, ctx);
  }
}

function callFunction(node: { name: string; args: Node[] }, ctx: EvalContext): Value {
  const lazy = node.args;
  // Lazy forms first: their arguments are not all evaluated.
  switch (node.name) {
    case 'lambda': {
      const names = lazy.slice(0, -1).map((a) => show(evalNode(a, ctx)));
      const body = lazy[lazy.length - 1];
      if (!body) throw new Unresolvable('lambda without body');
      return { lambda: true, params: names, body, context: ctx };
    }
    case 'if':
      return truthy(evalNode(lazy[0]!, ctx)) ? evalNode(lazy[1]!, ctx) : evalNode(lazy[2]!, ctx);
    case 'and':
      return lazy.every((a) => truthy(evalNode(a, ctx)));
    case 'or':
      return lazy.some((a) => truthy(evalNode(a, ctx)));
    default:
      break;
  }
  const args = lazy.map((a) => evalNode(a, ctx));
  const arg = (i: number): Json => json(args[i] ?? null);
  switch (node.name) {
    case 'variables': {
      const vars = ctx.template.variables;
      const key = show(arg(0));
      if (!isObject(vars) || !(key in vars)) throw new Unresolvable(`variable ${key} not found`);
      return evaluate(vars[key], ctx);
    }
    case 'parameters': {
      const key = show(arg(0));
      if (ctx.parameters && key in ctx.parameters) return ctx.parameters[key]!;
      const params = ctx.template.parameters;
      const p = isObject(params) ? params[key] : undefined;
      if (!isObject(p) || !('defaultValue' in p)) throw new Unresolvable(`parameter ${key} has no value`);
      return evaluate(p.defaultValue, ctx);
    }
    case 'lambdavariables': {
      const key = show(arg(0));
      const v = ctx.lambdaVariables?.[key];
      if (v === undefined) throw new Unresolvable(`lambda variable ${key} not bound`);
      return v;
    }
    case 'copyindex':
      if (ctx.copyIndex === undefined) throw new Unresolvable('copyIndex() outside a copy loop');
      return ctx.copyIndex + (typeof args[0] === 'number' ? args[0] : 0);
    case 'filter': {
      const list = arg(0);
      if (!Array.isArray(list)) throw new Unresolvable('filter() of a non-array');
      return list.filter((item, i) => truthy(callLambda(args[1]!, [item, i])));
    }
    case 'map': {
      const list = arg(0);
      if (!Array.isArray(list)) throw new Unresolvable('map() of a non-array');
      return list.map((item, i) => callLambda(args[1]!, [item, i]));
    }
    case 'equals':
      return JSON.stringify(arg(0)) === JSON.stringify(arg(1));
    case 'not':
      return !truthy(arg(0));
    case 'empty': {
      const v = arg(0);
      if (v === null) return true;
      if (typeof v === 'string' || Array.isArray(v)) return v.length === 0;
      if (isObject(v)) return Object.keys(v).length === 0;
      throw new Unresolvable('empty() of a scalar');
    }
    case 'length': {
      const v = arg(0);
      if (typeof v === 'string' || Array.isArray(v)) return v.length;
      if (isObject(v)) return Object.keys(v).length;
      throw new Unresolvable('length() of a scalar');
    }
    case 'union': {
      const all = args.map(json);
      if (all.every(Array.isArray))
        return [...new Set(all.flat().map((v) => JSON.stringify(v)))].map((v) => JSON.parse(v) as Json);
      if (all.every(isObject)) return Object.assign({}, ...all) as JsonObject;
      throw new Unresolvable('union() of mixed kinds');
    }
    case 'createobject': {
      const out: JsonObject = {};
      for (let i = 0; i + 1 < args.length; i += 2) out[show(arg(i))] = arg(i + 1);
      return out;
    }
    case 'createarray':
      return args.map(json);
    case 'concat':
      return args.every((a) => Array.isArray(a)) ? (args as Json[][]).flat() : args.map(show).join('');
    case 'format':
      return show(arg(0)).replace(/\{(\d+)\}/g, (_, n: string) => show(arg(1 + Number(n))));
    case 'tolower':
      return show(arg(0)).toLowerCase();
    case 'string':
      return show(arg(0));
    case 'join': {
      const list = arg(0);
      if (!Array.isArray(list)) throw new Unresolvable('join() of a non-array');
      return list.map(show).join(show(arg(1)));
    }
    case 'toupper':
      return show(arg(0)).toUpperCase();
    case 'replace':
      return show(arg(0))
        .split(show(arg(1)))
        .join(show(arg(2)));
    case 'split':
      return show(arg(0)).split(show(arg(1)));
    case 'take': {
      const v = arg(0);
      const n = arg(1);
      if (typeof n !== 'number') throw new Unresolvable('take() count is not a number');
      if (typeof v === 'string' || Array.isArray(v)) return v.slice(0, n);
      throw new Unresolvable('take() of a scalar');
    }
    case 'last':
    case 'first': {
      const v = arg(0);
      if (typeof v !== 'string' && !Array.isArray(v)) throw new Unresolvable(`${node.name}() of a scalar`);
      const item = node.name === 'last' ? v[v.length - 1] : v[0];
      if (item === undefined) throw new Unresolvable(`${node.name}() of an empty value`);
      return item;
    }
    case 'contains': {
      const v = arg(0);
      const item = arg(1);
      if (typeof v === 'string') return v.toLowerCase().includes(show(item).toLowerCase());
      if (Array.isArray(v)) return v.some((x) => JSON.stringify(x) === JSON.stringify(item));
      if (isObject(v)) return show(item) in v;
      throw new Unresolvable('contains() of a scalar');
    }
    case 'subscription':
      return {
        id: `/subscriptions/${FAKE_SUBSCRIPTION_ID}`,
        subscriptionId: FAKE_SUBSCRIPTION_ID,
        tenantId: FAKE_TENANT_ID,
      };
    case 'managementgroup':
      return {
        id: `/providers/Microsoft.Management/managementGroups/${FAKE_MANAGEMENT_GROUP}`,
        name: FAKE_MANAGEMENT_GROUP,
        type: 'Microsoft.Management/managementGroups',
      };
    case 'uniquestring':
      return uniqueStringStandIn(args.map(show));
    // Ids and names computed at deployment are rendered symbolically, so tests can compare them.
    case 'resourceid':
    case 'subscriptionresourceid':
    case 'extensionresourceid':
    case 'tenantresourceid':
    case 'guid':
      return `${node.name}(${args.map(show).join(', ')})`;
    default:
      throw new Unresolvable(`function ${node.name}() is not evaluated statically`);
  }
}

/**
 * Evaluates a value from a template: literals as they are, ARM expressions where they are resolvable. With
 * `lenient`, an unresolvable expression stays as its "[...]" text instead of throwing.
 */
export function evaluate(value: Json | undefined, ctx: EvalContext, lenient = false): Json {
  if (value === undefined) throw new Unresolvable('undefined value');
  if (typeof value === 'string') {
    if (value.startsWith('[[')) return value.slice(1);
    if (value.startsWith('[') && value.endsWith(']')) {
      try {
        return json(evalNode(parse(value.slice(1, -1)), ctx));
      } catch (e) {
        if (lenient && e instanceof Unresolvable) return value;
        throw e;
      }
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => evaluate(v, ctx, lenient));
  if (isObject(value)) {
    const out: JsonObject = {};
    // ARM evaluates expression property names too.
    for (const [k, v] of Object.entries(value))
      out[show(evaluate(k, ctx, lenient))] = evaluate(v, ctx, lenient);
    return out;
  }
  return value;
}

/**
 * Expands a resource's copy loop (or takes it once) and evaluates the given top-level properties of each
 * instance, with the given parameter values.
 */
export function instances(
  found: FoundResource,
  keys: readonly string[],
  parameters: Readonly<Record<string, Json>> = {},
): JsonObject[] {
  const base: EvalContext = { template: found.template, parameters };
  const copy = found.resource.copy;
  const count = isObject(copy) ? evaluate(copy.count, base) : 1;
  if (typeof count !== 'number') throw new Unresolvable('copy count is not a number');
  const out: JsonObject[] = [];
  for (let i = 0; i < count; i++) {
    const ctx: EvalContext = { ...base, copyIndex: i };
    const instance: JsonObject = {};
    for (const key of keys) instance[key] = evaluate(found.resource[key], ctx);
    out.push(instance);
  }
  return out;
}

/**
 * The value at `path` below a resource, evaluated in its template: expressions met on the way are resolved
 * (they must be), the value found is evaluated in full, leniently if asked.
 */
export function resolved(found: FoundResource, path: readonly string[], lenient = false): Json {
  let value: Json | undefined = found.resource;
  for (const key of path) {
    if (typeof value === 'string' && isExpression(value))
      value = evaluate(value, { template: found.template });
    if (!isObject(value) || !(key in value)) throw new Error(`no ${path.join('.')} on ${found.type}`);
    value = value[key];
  }
  return evaluate(value, { template: found.template }, lenient);
}

/** Whether a string is an ARM expression (evaluated at deployment). */
export function isExpression(value: Json): boolean {
  return typeof value === 'string' && value.startsWith('[') && !value.startsWith('[[');
}
