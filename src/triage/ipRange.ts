/*
 * IPv4 and IPv6 addresses and CIDR ranges, as numbers, for the allowlist's CallerIpRange. Parsing is strict
 * (no leading zeros in IPv4 parts, no zone ids, no host bits set in a range), because a range that quietly
 * means something other than what its author wrote silences the wrong alerts. An IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`, how some proxies log IPv4 callers) is the IPv4 address it maps.
 */
import { isIPv6 } from 'node:net';

export interface IpAddress {
  readonly family: 4 | 6;
  readonly value: bigint;
}

export interface IpRange extends IpAddress {
  readonly prefix: number;
}

const IPV4 = /^(?:0|[1-9]\d{0,2})(?:\.(?:0|[1-9]\d{0,2})){3}$/;

function parseIpv4(text: string): bigint | undefined {
  if (!IPV4.test(text)) return undefined;
  let value = 0n;
  for (const part of text.split('.')) {
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let hex = text;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  // An embedded IPv4 address (`::ffff:192.0.2.1`) is the last two 16-bit words.
  if (tail.includes('.')) {
    const n = parseIpv4(tail);
    if (n === undefined) return undefined;
    hex = `${text.slice(0, lastColon + 1)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const halves = hex.split('::');
  if (halves.length > 2) return undefined;
  const words = (s: string) => (s === '' ? [] : s.split(':'));
  const left = words(halves[0] ?? '');
  const right = halves.length === 2 ? words(halves[1] ?? '') : [];
  const fill = halves.length === 2 ? 8 - left.length - right.length : 0;
  if (fill < 0 || left.length + fill + right.length !== 8) return undefined;
  const all = [...left, ...Array<string>(fill).fill('0'), ...right];
  if (!all.every((w) => /^[0-9a-f]{1,4}$/i.test(w))) return undefined;
  return all.reduce((acc, w) => (acc << 16n) | BigInt(`0x${w}`), 0n);
}

const MAPPED_V4_PREFIX = 0xffffn << 32n;

/** An address as logged; undefined when it is not a plain IPv4 or IPv6 address. */
export function parseIpAddress(text: string): IpAddress | undefined {
  const trimmed = text.trim();
  const v4 = parseIpv4(trimmed);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIpv6(trimmed);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === MAPPED_V4_PREFIX >> 32n) return { family: 4, value: v6 & 0xffffffffn };
  return { family: 6, value: v6 };
}

/** A CIDR range or a single address (a range of one), or a message saying what is wrong with it. */
export function parseIpRange(text: string): IpRange | string {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addressText = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const address = parseIpAddress(addressText);
  if (!address) return `"${trimmed}" is not an IPv4 or IPv6 address or CIDR range`;
  // A mapped address written in IPv6 form keeps its IPv6 prefix length meaning: reject rather than guess.
  if (address.family === 4 && addressText.includes(':') && slash !== -1) {
    return `"${trimmed}": write an IPv4-mapped range in IPv4 form`;
  }
  const bits = address.family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash !== -1) {
    const prefixText = trimmed.slice(slash + 1);
    if (!/^(?:0|[1-9]\d{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
      return `"${trimmed}": the prefix length must be a whole number from 0 to ${bits}`;
    }
    prefix = Number(prefixText);
  }
  const hostBits = BigInt(bits - prefix);
  const network = (address.value >> hostBits) << hostBits;
  if (network !== address.value) {
    return `"${trimmed}" has host bits set: the range starting there is ${formatNetwork(address.family, network)}/${prefix}`;
  }
  return { ...address, prefix };
}

export function inRange(address: IpAddress, range: IpRange): boolean {
  if (address.family !== range.family) return false;
  const hostBits = BigInt((range.family === 4 ? 32 : 128) - range.prefix);
  return address.value >> hostBits === range.value >> hostBits;
}

function formatNetwork(family: 4 | 6, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  }
  const words = Array.from({ length: 8 }, (_, i) => ((value >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
  return words.join(':');
}
