/**
 * Instance addresses on this host. A loopback pool (127/8) needs nothing set up: Linux answers on
 * every 127/8 address. A pool on a real interface is a Neutron port's worth of work: the address is
 * added to the interface when the instance's envelope is made, and removed when it is destroyed.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createConnection, createServer } from 'node:net'
import { networkInterfaces } from 'node:os'
import { promisify } from 'node:util'
import { type AddressPool, inPool, ipv4ToInt, poolAddresses } from '../../core/address-pool.js'
import { isRoot } from './accounts.js'

const run = promisify(execFile)

/** Why this host cannot use the pool, or undefined when it can. */
export async function poolUnusable(pool: AddressPool): Promise<string | undefined> {
  if (pool.interface) {
    if (!isRoot()) return `adding addresses to ${pool.interface} needs root`
    const present = await readFile(`/sys/class/net/${pool.interface}/ifindex`, 'utf8').catch(() => undefined)
    if (present === undefined) return `there is no interface ${pool.interface}`
    return undefined
  }
  const first = poolAddresses(pool).next().value as string
  return new Promise((done) => {
    const s = createServer()
    s.once('error', (err: NodeJS.ErrnoException) => done(`this host cannot listen on ${first} (${err.code ?? err.message})`))
    s.listen({ host: first, port: 0, exclusive: true }, () => s.close(() => done(undefined)))
  })
}

/** The addresses some socket listens on (specific addresses only, not 0.0.0.0), from /proc/net. */
async function listeningAddresses(): Promise<Set<string>> {
  const found = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '')
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length < 4 || f[3] !== '0A') continue
      const hex = (f[1] ?? '').split(':')[0] ?? ''
      // IPv4 in host byte order (little-endian here); in tcp6 as an IPv4-mapped address.
      const v4 = hex.length === 8 ? hex : hex.startsWith('0000000000000000FFFF0000') ? hex.slice(24) : undefined
      if (!v4) continue
      const bytes = v4.match(/../g)?.map((b) => parseInt(b, 16)).reverse()
      if (bytes) found.add(bytes.join('.'))
    }
  }
  return found
}

const onThisHost = (address: string): boolean =>
  Object.values(networkInterfaces()).some((list) => list?.some((i) => i.family === 'IPv4' && i.address === address))

const canListen = (host: string, port: number): Promise<boolean> =>
  new Promise((done) => {
    const s = createServer()
    s.once('error', () => done(false))
    s.listen({ host, port, exclusive: true }, () => s.close(() => done(true)))
  })

/**
 * True when something on the network answers at `address` within `ms`: a connection, or a refusal
 * (a host that refuses is a host that has the address). Silence or no route: nobody has it.
 */
const answersOnNetwork = (address: string, port: number, ms: number): Promise<boolean> =>
  new Promise((done) => {
    const s = createConnection({ host: address, port })
    const end = (answer: boolean) => {
      clearTimeout(timer)
      s.destroy()
      done(answer)
    }
    const timer = setTimeout(() => end(false), ms)
    s.once('connect', () => end(true))
    s.once('error', (err: NodeJS.ErrnoException) => end(err.code === 'ECONNREFUSED'))
  })

/**
 * True when this node could give `address` with `port` to a new instance right now: no socket
 * listens on the address (on any port: another program or Coffer home uses it), and the port can be
 * bound there. For an address on a real interface: it is on no interface of this host, and no host
 * of the network answers at it.
 */
export async function addressIsFree(address: string, port: number, pool: AddressPool | undefined): Promise<boolean> {
  if (ipv4ToInt(address) === undefined) return canListen(address, port)
  if (pool && (await listeningAddresses()).has(address)) return false
  if (pool?.interface) return !onThisHost(address) && !(await answersOnNetwork(address, port, 300))
  return canListen(address, port)
}

/** Adds `address` to the pool's interface (idempotent). Nothing to do for a loopback pool. */
export async function attachAddress(address: string, pool: AddressPool | undefined): Promise<void> {
  if (!pool?.interface || !inPool(pool, address) || onThisHost(address)) return
  try {
    await run('ip', ['addr', 'add', `${address}/${pool.prefix}`, 'dev', pool.interface])
  } catch (err) {
    if (!/File exists/.test(String((err as { stderr?: string }).stderr))) throw err
  }
}

/** Removes `address` from the pool's interface (idempotent). */
export async function detachAddress(address: string, pool: AddressPool | undefined): Promise<void> {
  // Only what the pool hands out: never the host's own addresses.
  if (!pool?.interface || !inPool(pool, address) || !onThisHost(address)) return
  try {
    await run('ip', ['addr', 'del', `${address}/${pool.prefix}`, 'dev', pool.interface])
  } catch (err) {
    if (!/Cannot assign|not found/i.test(String((err as { stderr?: string }).stderr))) throw err
  }
}
