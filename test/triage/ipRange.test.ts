import { inRange, parseIpAddress, parseIpRange, type IpRange } from '../../src/triage/ipRange';

const range = (text: string): IpRange => {
  const r = parseIpRange(text);
  if (typeof r === 'string') throw new Error(r);
  return r;
};
const within = (ip: string, text: string) => {
  const address = parseIpAddress(ip);
  return address !== undefined && inRange(address, range(text));
};

describe('IP addresses and ranges', () => {
  it('matches IPv4 CIDR ranges and single addresses', () => {
    expect(within('10.20.1.4', '10.20.0.0/16')).toBe(true);
    expect(within('10.21.1.4', '10.20.0.0/16')).toBe(false);
    expect(within('203.0.113.10', '203.0.113.10')).toBe(true);
    expect(within('203.0.113.11', '203.0.113.10')).toBe(false);
    expect(within('198.51.100.7', '0.0.0.0/0')).toBe(true);
  });

  it('matches IPv6 ranges, compressed or not, with an embedded IPv4 tail', () => {
    expect(within('2001:db8:85a3::8a2e:370:7334', '2001:db8:85a3::/48')).toBe(true);
    expect(within('2001:0db8:85a3:0000:0000:8a2e:0370:7334', '2001:db8:85a3::/48')).toBe(true);
    expect(within('2001:db8:85a4::1', '2001:db8:85a3::/48')).toBe(false);
    expect(within('2001:db8::1', '2001:DB8::1')).toBe(true);
    expect(within('64:ff9b::203.0.113.1', '64:ff9b::/96')).toBe(true);
  });

  it('takes an IPv4-mapped IPv6 caller for the IPv4 address it maps; families never cross otherwise', () => {
    expect(within('::ffff:10.20.1.4', '10.20.0.0/16')).toBe(true);
    expect(within('::ffff:a14:104', '10.20.0.0/16')).toBe(true);
    expect(within('10.20.1.4', '::/0')).toBe(false);
    expect(within('2001:db8::1', '0.0.0.0/0')).toBe(false);
  });

  it.each([
    ['10.0.0.300', /not an IPv4 or IPv6 address/],
    ['10.0.0.0/33', /prefix length must be a whole number from 0 to 32/],
    ['2001:db8::/129', /from 0 to 128/],
    ['10.0.0.0/08', /prefix length/],
    ['010.0.0.1', /not an IPv4/],
    ['10.1.2.3/8', /host bits set: the range starting there is 10\.0\.0\.0\/8/],
    ['2001:db8::1/32', /host bits set: the range starting there is 2001:db8:0:0:0:0:0:0\/32/],
    ['fe80::1%eth0', /not an IPv4 or IPv6/],
    ['::ffff:10.0.0.0/104', /write an IPv4-mapped range in IPv4 form/],
    ['contoso.example', /not an IPv4/],
    ['10.0.0.0/', /prefix length/],
  ])('refuses %s', (text, message) => {
    expect(parseIpRange(text)).toMatch(message);
  });

  it('does not take an address with a port or a zone for an address', () => {
    for (const text of ['203.0.113.10:443', '[2001:db8::1]', 'fe80::1%1', '', ' ']) {
      expect(parseIpAddress(text)).toBeUndefined();
    }
  });
});
