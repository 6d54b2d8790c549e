/**
 * IPv4 and IPv6 CIDRs as Trove's access.allowed_cidrs takes them. Pure; the engines render what
 * they are given here into their own access rules.
 */
import { BadRequest } from './errors.js'

const isIPv4 = (a: string): boolean => /^(\d{1,3})(\.\d{1,3}){3}$/.test(a) && a.split('.').every((o) => Number(o) <= 255 && (o === '0' || !o.startsWith('0')))

/** Hex groups of at most four digits, eight of them or fewer with one `::`. */
function isIPv6(a: string): boolean {
  if (!/^[0-9a-fA-F:]+$/.test(a) || !a.includes(':')) return false
  const halves = a.split('::')
  if (halves.length > 2) return false
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')))
  if (groups.some((g) => g.length === 0 || g.length > 4)) return false
  return halves.length === 2 ? groups.length < 8 : groups.length === 8
}

export interface Cidr {
  readonly address: string
  readonly prefix: number
  readonly family: 4 | 6
}

/** Parses "10.0.0.0/24" (a bare address is /32 or /128); throws BadRequest naming the bad entry. */
export function parseCidr(text: string): Cidr {
  const [address = '', bits, extra] = text.split('/')
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : 0
  const max = family === 4 ? 32 : 128
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN
  if (family === 0 || extra !== undefined || !(prefix >= 0 && prefix <= max)) {
    throw new BadRequest(`'${text.slice(0, 64)}' in access.allowed_cidrs is not a CIDR such as 10.0.0.0/24.`)
  }
  return { address, prefix, family }
}

/** The list a request gives, each entry written as address/prefix, duplicates dropped. */
export function normalizeCidrs(list: readonly string[]): string[] {
  return [...new Set(list.map((t) => { const c = parseCidr(t); return `${c.address}/${c.prefix}` }))]
}

/** An IPv4 CIDR as two 32-bit numbers: the network (host bits cleared) and the mask. */
export function ipv4Network(c: Cidr): { readonly network: number; readonly mask: number } {
  const n = c.address.split('.').reduce((acc, o) => acc * 256 + Number(o), 0)
  const mask = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0
  return { network: (n & mask) >>> 0, mask }
}
