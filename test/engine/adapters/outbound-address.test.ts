// The outbound rules for HTTP agents: which addresses a request may connect to, checked on the URL's
// literal address and on every address a name resolves to, before anything is sent.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundAddressRefused, outboundRules, parseNetworkList } from '../../../engine/adapters/outbound-address.ts';

describe('outbound rules', () => {
  const rules = outboundRules();

  it.each([
    ['169.254.169.254', false],
    ['169.254.0.1', false],
    ['::ffff:169.254.169.254', false],
    ['100.100.100.200', false],
    ['fd00:ec2::254', false],
    ['fe80::1', false],
    ['127.0.0.1', true],
    ['::1', true],
    ['0.0.0.0', true],
    ['10.1.2.3', true],
    ['93.184.215.14', true],
    ['2606:4700::1111', true],
  ])('by default, %s is allowed: %s', (address, allowed) => {
    expect(rules.allows(address)).toBe(allowed);
  });

  it('denies what the operator denies, and allows what is allowed inside it', () => {
    const strict = outboundRules({ deny: ['0.0.0.0/0', '::/0'], allow: ['10.0.0.0/8'] });
    expect(strict.allows('10.9.9.9')).toBe(true);
    expect(strict.allows('8.8.8.8')).toBe(false);
    expect(strict.allows('::1')).toBe(false);
    const noLoopback = outboundRules({ deny: ['127.0.0.0/8', '::1/128'], allow: [] });
    expect(noLoopback.allows('127.0.0.1')).toBe(false);
    // The unspecified address reaches this host: it is loopback to the rules.
    expect(noLoopback.allows('0.0.0.0')).toBe(false);
    expect(noLoopback.allows('::')).toBe(false);
    const metadataAllowed = outboundRules({ deny: ['169.254.0.0/16'], allow: ['169.254.10.0/24'] });
    expect(metadataAllowed.allows('169.254.10.7')).toBe(true);
    expect(metadataAllowed.allows('169.254.169.254')).toBe(false);
  });

  it('refuses a URL naming a refused address, IPv6 in brackets included', () => {
    expect(() => rules.checkUrl('http://169.254.169.254/latest/meta-data/')).toThrow(OutboundAddressRefused);
    expect(() => rules.checkUrl('http://[fe80::1]:8080/')).toThrow(/fe80::1 is not an allowed address/);
    expect(() => rules.checkUrl('http://[::ffff:a9fe:a9fe]/')).toThrow(OutboundAddressRefused);
    expect(() => rules.checkUrl('http://127.0.0.1:4000/agent')).not.toThrow();
    expect(() => rules.checkUrl('http://agent.example/')).not.toThrow();
  });

  it('reads a network list and names a bad entry', () => {
    expect(parseNetworkList(' 10.0.0.0/8, fd00::/8 ,192.168.1.5,')).toEqual(['10.0.0.0/8', 'fd00::/8', '192.168.1.5']);
    expect(() => parseNetworkList('10.0.0.0/33')).toThrow('not a network: "10.0.0.0/33"');
    expect(() => parseNetworkList('example.com')).toThrow('not a network: "example.com"');
    expect(() => parseNetworkList('10.0.0.0/8/1')).toThrow('not a network');
    expect(() => parseNetworkList('10.0.0.0/ 8')).toThrow('not a network');
  });
});

describe('outbound rules on real connections', () => {
  let server: Server;
  let port: number;
  let connections = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => res.end('ok'));
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const get = (url: string, rules: ReturnType<typeof outboundRules>) =>
    fetch(url, { dispatcher: rules.dispatcher() } as RequestInit).then((response) => response.text());

  it('does not connect to a name that resolves only to a refused address', async () => {
    const before = connections;
    const noLoopback = outboundRules({ deny: ['127.0.0.0/8', '::1/128'], allow: [] });
    const failure = await get(`http://localhost:${port}/`, noLoopback).catch((error: Error) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).cause).toBeInstanceOf(OutboundAddressRefused);
    expect(((failure as Error).cause as OutboundAddressRefused).code).toBe('address_refused');
    expect(connections).toBe(before);
  });

  it('connects where the rules allow it', async () => {
    expect(await get(`http://localhost:${port}/`, outboundRules())).toBe('ok');
    expect(await get(`http://localhost:${port}/`, outboundRules({ deny: ['127.0.0.0/8', '::1/128'], allow: ['127.0.0.1/32'] }))).toBe('ok');
  });
});
