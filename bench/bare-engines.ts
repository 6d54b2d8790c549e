/**
 * The bare engines, started by hand the way a person would, for bench/provision to compare
 * against: each returns how long a fresh server took until it accepted connections.
 */
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import mysql from 'mysql2/promise'
import { Redis } from 'ioredis'

export interface BareEngine {
  readonly datastore: string
  readonly version: string
  readonly what: string
  /** One fresh server from nothing to ready; returns milliseconds. Stops it afterwards. */
  once(root: string, i: number): Promise<number>
}

const PG = '/usr/lib/postgresql/15/bin'
const idOf = (user: string) => Number(execFileSync('id', ['-u', user]).toString())
const gidOf = (user: string) => Number(execFileSync('id', ['-g', user]).toString())
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const as = (user: string, cmd: string, args: string[]) => execFileSync('runuser', ['-u', user, '--', cmd, ...args], { stdio: 'ignore' })
const detached = (user: string, cmd: string, args: string[]) => spawn('runuser', ['-u', user, '--', cmd, ...args], { stdio: 'ignore', detached: true }).unref()

function ownedDir(root: string, name: string, user: string): string {
  const d = join(root, name)
  mkdirSync(d, { recursive: true })
  chownSync(d, idOf(user), gidOf(user))
  chmodSync(d, 0o700)
  return d
}

export const barePostgresql: BareEngine = {
  datastore: 'postgresql',
  version: '15',
  what: 'initdb --no-sync + start until ready',
  async once(root, i) {
    const data = ownedDir(root, `pg-${i}`, 'postgres')
    const pwfile = join(root, `pg-${i}.pw`)
    writeFileSync(pwfile, 'bench-password\n')
    chownSync(pwfile, idOf('postgres'), gidOf('postgres'))
    const t = performance.now()
    as('postgres', `${PG}/initdb`, ['--no-sync', '-A', 'scram-sha-256', `--pwfile=${pwfile}`, '-U', 'bench', '-D', data])
    detached('postgres', `${PG}/postgres`, ['-D', data, '-p', String(41000 + i), '-k', data, '-c', 'listen_addresses=127.0.0.1'])
    for (;;) {
      try {
        if (readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[7]?.trim() === 'ready') break
      } catch {
        // not yet
      }
      await sleep(5)
    }
    const ms = performance.now() - t
    process.kill(Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]), 'SIGQUIT')
    return ms
  },
}

export const bareMariadb: BareEngine = {
  datastore: 'mariadb',
  version: '10.11',
  what: 'mariadb-install-db + start until a login works',
  async once(root, i) {
    const data = ownedDir(root, `maria-${i}`, 'mysql')
    const sock = join(data, 'sock')
    const t = performance.now()
    as('mysql', 'mariadb-install-db', ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db'])
    detached('mysql', '/usr/sbin/mariadbd', ['--no-defaults', `--datadir=${data}`, `--socket=${sock}`, `--port=${42000 + i}`, '--bind-address=127.0.0.1', `--pid-file=${join(data, 'pid')}`])
    for (;;) {
      try {
        const c = await mysql.createConnection({ socketPath: sock, user: 'root' })
        await c.end()
        break
      } catch {
        await sleep(5)
      }
    }
    const ms = performance.now() - t
    process.kill(Number(readFileSync(join(data, 'pid'), 'utf8')), 'SIGKILL')
    return ms
  },
}

export const bareRedis: BareEngine = {
  datastore: 'redis',
  version: '7.0',
  what: 'redis-server start until PING',
  async once(root, i) {
    const data = ownedDir(root, `redis-${i}`, 'redis')
    const port = 43000 + i
    const t = performance.now()
    detached('redis', '/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', data, '--save', '', '--pidfile', join(data, 'pid')])
    for (;;) {
      const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      r.on('error', () => {})
      try {
        await r.connect()
        await r.ping()
        r.disconnect()
        break
      } catch {
        r.disconnect()
        await sleep(5)
      }
    }
    const ms = performance.now() - t
    process.kill(Number(readFileSync(join(data, 'pid'), 'utf8')), 'SIGKILL')
    return ms
  },
}

export function benchRoot(): string {
  const root = mkdtempSync('/tmp/coffer-bench-')
  chmodSync(root, 0o755)
  return root
}

export const removeRoot = (root: string): void => rmSync(root, { recursive: true, force: true })
