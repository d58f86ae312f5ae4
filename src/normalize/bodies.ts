/*
 * The request and response bodies an operation's records carry in `properties` (`requestbody` on the Start
 * record, `responseBody` on the Accept record, as JSON text), and case-insensitive access to their keys:
 * Azure writes `requestbody`, `requestBody` and `RequestBody`, and API versions differ in key casing.
 */
import { readObject } from './shapes';

/** `obj[key]` compared without regard to case (an exact match first). */
export function getCI(obj: Readonly<Record<string, unknown>> | undefined, key: string): unknown {
  if (obj === undefined) return undefined;
  if (Object.hasOwn(obj, key)) return obj[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return obj[k];
  return undefined;
}

/** An object-valued key (or a JSON string holding one), without regard to case. */
export function objectCI(
  obj: Readonly<Record<string, unknown>> | undefined,
  key: string,
): Record<string, unknown> | undefined {
  return readObject(getCI(obj, key));
}

/** A text-valued key without regard to case; '' when absent or not text. */
export function textCI(obj: Readonly<Record<string, unknown>> | undefined, key: string): string {
  const value = getCI(obj, key);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return '';
}

export interface OperationBodies {
  readonly request: Record<string, unknown> | undefined;
  readonly response: Record<string, unknown> | undefined;
}

export function operationBodies(properties: Readonly<Record<string, unknown>> | undefined): OperationBodies {
  return { request: objectCI(properties, 'requestbody'), response: objectCI(properties, 'responsebody') };
}

/** A resource body's `properties` object when it has one, else the body itself (actions post flat bodies). */
export function resourceProperties(
  body: Readonly<Record<string, unknown>> | undefined,
): Record<string, unknown> {
  return objectCI(body, 'properties') ?? { ...body };
}
