// Where HTTP agents may be called: an agent's URL is chosen by whoever may create agents, and the
// server makes the request, so without a rule an operator could make the server fetch the cloud
// metadata service (its credentials) or anything else only the server can reach. Each address a
// request would connect to is checked before the connection: the URL's literal address, and every
// address a name resolves to (at connect time, so a name that changes its answer gains nothing).
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent } from 'undici';

/**
 * Refused unless allowed: link-local (169.254.0.0/16, where AWS, GCP and Azure serve instance
 * metadata, and fe80::/10), Alibaba's metadata address and AWS's IPv6 metadata address.
 * Loopback stays allowed: an agent on the same machine is the usual local set-up.
 */
export const DEFAULT_DENIED_NETWORKS = ['169.254.0.0/16', 'fe80::/10', '100.100.100.200/32', 'fd00:ec2::254/128'] as const;

/** The run's errorCode when a request was refused before it was sent. */
export const ADDRESS_REFUSED = 'address_refused';
/** The settings that say where requests may go, for messages. */
export const OUTBOUND_SETTINGS = 'HEARTBEAT_AGENT_DENY_NETWORKS, HEARTBEAT_AGENT_ALLOW_NETWORKS';

export interface OutboundNetworks {
  /** Networks (CIDR) requests may not go to. */
  deny: readonly string[];
  /** Networks requests may go to even when a denied network holds them (the more specific rule of the operator). */
  allow: readonly string[];
}

export const DEFAULT_OUTBOUND_NETWORKS: OutboundNetworks = { deny: DEFAULT_DENIED_NETWORKS, allow: [] };

/** A request refused by the outbound rules; `code` is what the run records. */
export class OutboundAddressRefused extends Error {
  readonly code = ADDRESS_REFUSED;
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(host === address ? `${address} is not an allowed address for agent requests` : `${host} resolves to ${address}, not an allowed address for agent requests`);
    this.name = 'OutboundAddressRefused';
  }
}

/** `10.0.0.0/8` or a single address (as /32 or /128) as [network, prefix, family]; throws on anything else. */
function parseNetwork(text: string): [string, number, 'ipv4' | 'ipv6'] {
  const [address, prefixText, extra] = text.trim().split('/');
  const version = isIP(address);
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!version || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) {
    throw new Error(`not a network: "${text.trim()}" (expected an address or CIDR such as 10.0.0.0/8 or fd00::/8)`);
  }
  return [address, prefix, family];
}

/** A comma-separated list of networks as the settings give it; throws naming the bad entry. */
export function parseNetworkList(text: string): string[] {
  const networks = text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const network of networks) parseNetwork(network);
  return networks;
}

function blockList(networks: readonly string[]): BlockList {
  const list = new BlockList();
  for (const network of networks) list.addSubnet(...parseNetwork(network));
  return list;
}

/**
 * The address a connection would really reach, for checking: an IPv4-mapped IPv6 address is its
 * IPv4 address, and the unspecified address (0.0.0.0, ::) connects to this host, so it is loopback.
 */
function effectiveAddress(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const plain = mapped ? mapped[1] : address;
  if (plain === '0.0.0.0') return { address: '127.0.0.1', family: 'ipv4' };
  if (plain === '::') return { address: '::1', family: 'ipv6' };
  return { address: plain, family: isIP(plain) === 4 ? 'ipv4' : 'ipv6' };
}

export interface OutboundRules {
  /** Whether a request may connect to `address` (an IP address). */
  allows(address: string): boolean;
  /** Throws OutboundAddressRefused when the URL names a literal address the rules refuse. */
  checkUrl(url: string): void;
  /** An undici dispatcher whose connections go only to addresses the rules allow. */
  dispatcher(options?: ConstructorParameters<typeof Agent>[0]): Agent;
}

export function outboundRules(networks: OutboundNetworks = DEFAULT_OUTBOUND_NETWORKS): OutboundRules {
  const deny = blockList(networks.deny);
  const allow = blockList(networks.allow);
  const allows = (address: string) => {
    const { address: effective, family } = effectiveAddress(address);
    return allow.check(effective, family) || !deny.check(effective, family);
  };

  /** dns.lookup, keeping only allowed addresses; none left: the refusal. */
  const lookup = (hostname: string, options: LookupOptions, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, options.all ? [] : '');
      const allowed = addresses.filter((entry) => allows(entry.address));
      if (allowed.length === 0) return callback(new OutboundAddressRefused(hostname, addresses[0]?.address ?? hostname), options.all ? [] : '');
      if (options.all) return callback(null, allowed);
      callback(null, allowed[0].address, allowed[0].family);
    });
  };

  return {
    allows,
    checkUrl(url) {
      const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
      if (isIP(host) && !allows(host)) throw new OutboundAddressRefused(host, host);
    },
    dispatcher: (options = {}) => new Agent({ ...options, connect: { ...(options.connect as object), lookup } as never }),
  };
}
