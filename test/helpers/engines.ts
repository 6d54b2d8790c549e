/**
 * How a test logs in to each engine as a user, with the engine's own client, to show that what the
 * API did is real: `canUse` resolves true when the user can log in and work in the database.
 */
import { Redis } from 'ioredis'
import mysql from 'mysql2/promise'
import pg from 'pg'

/**
 * Where an engine answers: an instance's `{ host, port }` (see `at`), or a bare port on 127.0.0.1
 * (guest tests, whose contexts bind there).
 */
export type Where = number | { readonly host: string; readonly port: number }

/** Where an instance, as the API shows it, tells clients to connect: its address and port. */
export const at = (inst: { readonly ip: readonly string[]; readonly port: number }): Where => ({ host: inst.ip[0] ?? '127.0.0.1', port: inst.port })

const hostOf = (w: Where) => (typeof w === 'number' ? { host: '127.0.0.1', port: w } : { host: w.host, port: w.port })

export interface EngineProbe {
  readonly datastore: string
  readonly version: string
  /** Logs in and writes and reads in `database` (ignored by engines without databases). */
  canUse(port: Where, user: string, password: string, database?: string): Promise<boolean>
  /** Logs in as the superuser `user` and runs something only a superuser may. */
  isSuperuser(port: Where, user: string, password: string): Promise<boolean>
}

/** A table name of its own for each probe, so one user's leftovers never block another's. */
const table = () => `probe_${Math.random().toString(36).slice(2, 10)}`

const quietly = async (fn: () => Promise<unknown>): Promise<boolean> => {
  try {
    await fn()
    return true
  } catch {
    return false
  }
}

export const postgresqlProbe: EngineProbe = {
  datastore: 'postgresql',
  version: '15',
  canUse: (port, user, password, database = 'postgres') =>
    quietly(async () => {
      const c = new pg.Client({ ...hostOf(port), user, password, database, connectionTimeoutMillis: 5000 })
      await c.connect()
      try {
        const t = table()
        await c.query(`CREATE TABLE ${t} (v int)`)
        await c.query(`INSERT INTO ${t} VALUES (1)`)
        await c.query(`SELECT count(*) FROM ${t}`)
        await c.query(`DROP TABLE ${t}`)
      } finally {
        await c.end()
      }
    }),
  isSuperuser: (port, user, password) =>
    quietly(async () => {
      const c = new pg.Client({ ...hostOf(port), user, password, database: 'postgres', connectionTimeoutMillis: 5000 })
      await c.connect()
      try {
        const r = await c.query('SELECT rolsuper FROM pg_roles WHERE rolname = current_user')
        if (r.rows[0]?.rolsuper !== true) throw new Error('not a superuser')
      } finally {
        await c.end()
      }
    }),
}

export const mariadbProbe: EngineProbe = {
  datastore: 'mariadb',
  version: '10.11',
  canUse: (port, user, password, database) =>
    quietly(async () => {
      const c = await mysql.createConnection({ ...hostOf(port), user, password, ...(database ? { database } : {}), connectTimeout: 5000 })
      try {
        if (database) {
          const t = table()
          await c.query(`CREATE TABLE ${t} (v int)`)
          await c.query(`INSERT INTO ${t} VALUES (1)`)
          await c.query(`SELECT count(*) FROM ${t}`)
          await c.query(`DROP TABLE ${t}`)
        } else await c.query('SELECT 1')
      } finally {
        await c.end()
      }
    }),
  isSuperuser: (port, user, password) =>
    quietly(async () => {
      const c = await mysql.createConnection({ ...hostOf(port), user, password, connectTimeout: 5000 })
      try {
        await c.query('SELECT COUNT(*) FROM mysql.user')
        await c.query('CREATE DATABASE IF NOT EXISTS root_probe')
        await c.query('DROP DATABASE root_probe')
      } finally {
        await c.end()
      }
    }),
}

/** A logged-in Redis client; rejects when the login is refused (no retries, no reconnects). */
async function redisLogin(port: Where, user: string, password: string): Promise<Redis> {
  const r = new Redis({ ...hostOf(port), username: user, password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  r.on('error', () => {}) // a refused login is the answer some tests look for; connect() rejects with it
  try {
    await r.connect()
  } catch (err) {
    r.disconnect()
    throw err
  }
  return r
}

export const redisProbe: EngineProbe = {
  datastore: 'redis',
  version: '7.0',
  canUse: (port, user, password) =>
    quietly(async () => {
      const r = await redisLogin(port, user, password)
      try {
        await r.set('probe', '1')
        if ((await r.get('probe')) !== '1') throw new Error('no write')
      } finally {
        r.disconnect()
      }
    }),
  isSuperuser: (port, user, password) =>
    quietly(async () => {
      const r = await redisLogin(port, user, password)
      try {
        await r.config('GET', 'maxmemory')
      } finally {
        r.disconnect()
      }
    }),
}

/** What the configuration test sets on each engine and how it reads a setting back as the superuser. */
export interface ConfigurationProbe {
  readonly probe: EngineProbe
  readonly live: { readonly name: string; readonly first: number; readonly firstRead: string; readonly second: number; readonly secondRead: string }
  readonly restart?: { readonly name: string; readonly value: number; readonly read: string }
  readonly wrongType: Record<string, unknown>
  readonly outOfRange: Record<string, unknown>
  read(port: Where, user: string, password: string, name: string): Promise<string>
}

export const postgresqlConfiguration: ConfigurationProbe = {
  probe: postgresqlProbe,
  live: { name: 'work_mem', first: 8192, firstRead: '8MB', second: 16384, secondRead: '16MB' },
  restart: { name: 'max_connections', value: 123, read: '123' },
  wrongType: { work_mem: 'lots' },
  outOfRange: { max_connections: 0 },
  async read(port, user, password, name) {
    const c = new pg.Client({ ...hostOf(port), user, password, database: 'postgres', connectionTimeoutMillis: 5000 })
    await c.connect()
    try {
      const r = await c.query('SELECT current_setting($1) AS v', [name])
      return String(r.rows[0].v)
    } finally {
      await c.end()
    }
  },
}

export const redisConfiguration: ConfigurationProbe = {
  probe: redisProbe,
  live: { name: 'timeout', first: 300, firstRead: '300', second: 600, secondRead: '600' },
  wrongType: { timeout: 'soon' },
  outOfRange: { timeout: -1 },
  async read(port, user, password, name) {
    const r = await redisLogin(port, user, password)
    try {
      const [, value] = (await r.config('GET', name)) as string[]
      return String(value)
    } finally {
      r.disconnect()
    }
  },
}

export const mariadbConfiguration: ConfigurationProbe = {
  probe: mariadbProbe,
  live: { name: 'max_connections', first: 77, firstRead: '77', second: 88, secondRead: '88' },
  // Read-only in MariaDB 10.11: takes effect at the next start only.
  restart: { name: 'innodb_log_buffer_size', value: 8388608, read: '8388608' },
  wrongType: { max_connections: 'many' },
  outOfRange: { max_connections: 0 },
  async read(port, user, password, name) {
    if (!/^[a-z_]+$/.test(name)) throw new Error(`not a variable name: ${name}`)
    const c = await mysql.createConnection({ ...hostOf(port), user, password, connectTimeout: 5000 })
    try {
      const [rows] = await c.query(`SELECT @@global.${name} AS v`)
      return String((rows as { v: unknown }[])[0]?.v)
    } finally {
      await c.end()
    }
  },
}
