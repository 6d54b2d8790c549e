/**
 * What the attacker probe did: with root on its own engine, or as its engine's OS account, a tenant
 * tried to read the state store (and with it every other tenant's passwords) from Coffer's home.
 * Now the state store and keys sit in the home's private part, secrets in the store are sealed,
 * and each engine's account reaches its own instance's folder and nothing else.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { lstatSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import * as mysql from 'mysql2/promise'
import pg from 'pg'
import { accountName } from '../src/compute/local/accounts.js'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import type { TestClient } from './helpers/api-client.js'
import type { CofferProcess } from './helpers/coffer-process.js'

type Made = { id: string; host: string; port: number; password: string }

/** Every path under `dir`, folders included, read as root. */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    return e.isDirectory() ? [p, ...walk(p)] : [p]
  })
}

/**
 * The paths `account` can read (files) or list (folders), as that account sees them: the shell's
 * `-r` asks the kernel (access(2), ACLs included) with the account's own uid.
 */
function readableBy(account: string, paths: readonly string[]): string[] {
  const script = 'while IFS= read -r p; do if [ -d "$p" ]; then [ -r "$p" ] && [ -x "$p" ] && echo "$p"; else [ -r "$p" ] && echo "$p"; fi; done; exit 0'
  const r = spawnSync('su', ['-s', '/bin/sh', account, '-c', script], { input: paths.join('\n') + '\n', encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  return r.stdout.split('\n').filter(Boolean)
}

describe('the home keeps its secrets from every engine', { skip: process.getuid?.() !== 0 && 'per-instance accounts need root' }, () => {
  let coffer: CofferProcess
  let api: TestClient
  const made: Record<'postgresql' | 'mariadb' | 'redis', Made> = {} as never

  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin())
    for (const datastore of ['postgresql', 'mariadb', 'redis'] as const) {
      const password = `Cleartext-${datastore}-${Math.random().toString(36).slice(2)}`
      const users = [{ name: 'tenant_user', password, ...(datastore === 'redis' ? {} : { databases: [{ name: 'appdb' }] }) }]
      const databases = datastore === 'redis' ? [] : [{ name: 'appdb' }]
      const r = await api.api('POST', '/instances', { instance: { name: `sec-${datastore}`, flavorRef: '1', volume: { size: 1 }, datastore: { type: datastore }, users, databases } })
      assert.equal(r.status, 200, JSON.stringify(r.body))
      const inst = (await api.waitActive(r.body.instance.id)).body.instance
      assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
      made[datastore] = { id: inst.id, host: inst.ip[0], port: inst.port, password }
    }
  })
  after(async () => coffer?.destroy())

  it('keeps the state store, its WAL and the sealing key 0600 in a 0700 folder, and the credential files 0600', () => {
    const priv = join(coffer.home, 'private')
    assert.equal(lstatSync(priv).mode & 0o777, 0o700)
    for (const f of readdirSync(priv)) assert.equal(lstatSync(join(priv, f)).mode & 0o077, 0, f)
    assert.ok(readdirSync(priv).includes('state.sqlite-wal'), 'the store runs in WAL mode')
    for (const f of ['openrc', 'clouds.yaml']) assert.equal(lstatSync(join(coffer.home, f)).mode & 0o077, 0, f)
    assert.equal(lstatSync(coffer.home).mode & 0o066, 0, 'nobody else may list or write the home')
  })

  it('holds no initial password in the clear in any file of the home (strings on every file)', () => {
    const files = walk(coffer.home).filter((p) => lstatSync(p).isFile())
    assert.ok(files.some((f) => f.endsWith('state.sqlite-wal')))
    for (const { password } of Object.values(made)) {
      const found = files.filter((f) => readFileSync(f).includes(password))
      assert.deepEqual(found, [], `password found in ${found.join(', ')}`)
    }
  })

  it('lets each engine account read its own instance folder and nothing else under the home', () => {
    const everything = walk(coffer.home)
    for (const [datastore, { id }] of Object.entries(made)) {
      const own = join(coffer.home, 'instances', id)
      const readable = readableBy(accountName(id), [coffer.home, ...everything])
      // Not vacuous: the account does reach its own volume.
      assert.ok(readable.includes(join(own, 'volume')), `${datastore}: its own volume should be readable`)
      const outside = readable.filter((p) => !p.startsWith(`${own}/`))
      assert.deepEqual(outside, [], `${datastore}'s account reads outside its instance`)
      // Its own guest folder holds Coffer's secrets for it: not the engine's either.
      assert.deepEqual(readable.filter((p) => p.startsWith(join(own, 'guest'))), [])
    }
  })

  it("refuses a PostgreSQL root's COPY ... FROM PROGRAM that reads the state store or lists the instances", async () => {
    const { id, host, port } = made.postgresql
    const root = (await api.api('POST', `/instances/${id}/root`)).body.user
    const c = new pg.Client({ host, port, user: root.name, password: root.password, database: 'postgres' })
    await c.connect()
    try {
      await c.query('CREATE TEMP TABLE loot (line text)')
      // The program runs: its own volume is there to list.
      await c.query(`COPY loot FROM PROGRAM 'ls ${join(coffer.home, 'instances', id, 'volume')}'`)
      assert.ok((await c.query('SELECT count(*)::int AS n FROM loot')).rows[0].n > 0)
      for (const target of [join(coffer.home, 'private', 'state.sqlite-wal'), join(coffer.home, 'private', 'state.sqlite'), join(coffer.home, 'openrc')]) {
        await assert.rejects(c.query(`COPY loot FROM PROGRAM 'cat ${target}'`), /program .* failed/, target)
      }
      await assert.rejects(c.query(`COPY loot FROM PROGRAM 'ls ${join(coffer.home, 'instances')}'`), /program .* failed/)
      await assert.rejects(c.query(`COPY loot FROM PROGRAM 'ls ${join(coffer.home, 'instances', made.redis.id)}'`), /program .* failed/)
    } finally {
      await c.end()
    }
  })

  it("gives a MariaDB root no file of the home (LOAD_FILE, LOAD DATA INFILE)", async () => {
    const { id, host, port } = made.mariadb
    const root = (await api.api('POST', `/instances/${id}/root`)).body.user
    const c = await mysql.createConnection({ host, port, user: root.name, password: root.password })
    try {
      const target = join(coffer.home, 'private', 'state.sqlite')
      const [rows] = await c.query('SELECT LOAD_FILE(?) AS f', [target])
      assert.equal((rows as { f: unknown }[])[0]?.f, null)
      await c.query('CREATE DATABASE loot')
      await c.query('CREATE TABLE loot.t (line TEXT)')
      await assert.rejects(c.query(`LOAD DATA INFILE ? INTO TABLE loot.t`, [target]), /secure-file-priv|Access denied|Errcode/)
    } finally {
      await c.end()
    }
  })
})
