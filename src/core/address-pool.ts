/**
 * Instance address pools (IPv4 CIDRs), pure: parsing `COFFER_INSTANCE_NETWORK` (`CIDR` or
 * `CIDR@IFACE`) and walking the addresses a pool can hand to instances.
 */

export interface AddressPool {
  /** The pool as written, normalised to its network address: `127.100.0.0/16`. */
  readonly cidr: string
  readonly prefix: number
  /** The network interface the addresses are added to; absent for a loopback pool (127/8 needs none). */
  readonly interface?: string
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

export function ipv4ToInt(address: string): number | undefined {
  const m = IPV4.exec(address)
  if (!m) return undefined
  const parts = m.slice(1).map(Number)
  if (parts.some((p) => p > 255)) return undefined
  return parts.reduce((n, p) => n * 256 + p, 0)
}

export const intToIpv4 = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')

export const isLoopback = (address: string): boolean => address.startsWith('127.')

/** `CIDR` or `CIDR@IFACE`; throws a sentence an admin can act on. */
export function parseAddressPool(text: string): AddressPool {
  const [cidr = '', iface] = text.trim().split('@')
  const [address = '', bits = ''] = cidr.split('/')
  const base = ipv4ToInt(address)
  const prefix = Number(bits)
  if (base === undefined || !/^\d+$/.test(bits) || prefix < 8 || prefix > 32) {
    throw new Error(`COFFER_INSTANCE_NETWORK must be an IPv4 CIDR from /8 to /32, optionally @interface (127.100.0.0/16, 10.0.5.0/24@eth1), not '${text}'`)
  }
  if (iface !== undefined && !/^[\w.-]{1,15}$/.test(iface)) throw new Error(`COFFER_INSTANCE_NETWORK: '${iface}' is not an interface name`)
  const network = intToIpv4(base & mask(prefix))
  if (iface === undefined && !isLoopback(network)) {
    throw new Error(`COFFER_INSTANCE_NETWORK ${cidr} is not on loopback (127/8): name the interface its addresses go on, as ${cidr}@eth1`)
  }
  return { cidr: `${network}/${prefix}`, prefix, ...(iface ? { interface: iface } : {}) }
}

const mask = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0)

/** The addresses of the pool an instance may get, lowest first: not the network or broadcast address (below /31). */
export function* poolAddresses(pool: Pick<AddressPool, 'cidr' | 'prefix'>): Generator<string> {
  const first = ipv4ToInt(pool.cidr.split('/')[0] ?? '') ?? 0
  const size = 2 ** (32 - pool.prefix)
  const ends = pool.prefix < 31 ? 1 : 0
  for (let i = ends; i < size - ends; i++) yield intToIpv4(first + i)
}

export function inPool(pool: Pick<AddressPool, 'cidr' | 'prefix'>, address: string): boolean {
  const a = ipv4ToInt(address)
  const base = ipv4ToInt(pool.cidr.split('/')[0] ?? '')
  return a !== undefined && base !== undefined && ((a & mask(pool.prefix)) >>> 0) === base
}
