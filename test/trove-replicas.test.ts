/**
 * Replica sets driven by Trove's own clients, verbatim, on PostgreSQL: the legacy `trove` CLI's
 * create --replica_of (one replica, then --replica_count 2), show with replica_of and replicas,
 * promote-to-replica-source, eject-replica-source on a set whose source's engine is dead, and
 * detach; `openstack database instance create --replica-of` (no flavor, as the client allows) and
 * its promote, eject and detach; and `coffer create
 * --replica_of` as the issue spells it.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import pg from 'pg'
import { COFFER_BIN, startCoffer, type CofferProcess } from './helpers/coffer-process.js'

const run = promisify(execFile)
const PASSWORD = 'app-Passw0rd'

async function query(inst: { ip: string[] | string; port: number }, sql: string, params: unknown[] = []): Promise<any[]> {
  const host = Array.isArray(inst.ip) ? inst.ip[0] : inst.ip.split(',')[0]!.trim()
  const c = new pg.Client({ host, port: Number(inst.port), user: 'app', password: PASSWORD, database: 'app', connectionTimeoutMillis: 3000 })
  await c.connect()
  try {
    return (await c.query(sql, params)).rows
  } finally {
    await c.end()
  }
}

/** `trove`'s tables: `| key | value |` rows into an object. */
const table = (out: string): Record<string, string> =>
  Object.fromEntries([...out.matchAll(/^\|\s*(\S+)\s*\|\s*(.*?)\s*\|$/gm)].filter((m) => m[1] !== 'Property').map((m) => [m[1], m[2]]))

describe('Trove clients: replica sets', { skip: (!existsSync('/usr/bin/openstack') || !existsSync('/usr/bin/trove')) && 'python3-openstackclient or python3-troveclient is not installed (make test installs them)' }, () => {
  let coffer: CofferProcess
  let scratch: string
  let env: NodeJS.ProcessEnv
  let squatter: Server | undefined
  const openstack = async (...args: string[]) => (await run('openstack', args, { env, timeout: 60_000 })).stdout
  const json = async (...args: string[]) => JSON.parse(await openstack(...args, '-f', 'json'))
  const show = (id: string) => json('database', 'instance', 'show', id)
  const until = async (id: string, done: (i: any) => boolean, what: string) => {
    let last: any
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
      last = await show(id)
      if (done(last)) return last
      await sleep(300)
    }
    throw new Error(`instance ${id}: ${what} did not happen; last seen ${JSON.stringify(last)}`)
  }
  const active = (id: string) => until(id, (i) => i.status === 'ACTIVE' || i.status === 'ERROR', 'ACTIVE').then((i) => {
    assert.equal(i.status, 'ACTIVE', JSON.stringify(i))
    return i
  })
  /** What `source openrc` would export: the `trove` CLI reads only OS_* variables. */
  const trove = async (...args: string[]) => {
    const openrc = Object.fromEntries([...readFileSync(join(coffer.home, 'openrc'), 'utf8').matchAll(/^export (\w+)='?(.*?)'?$/gm)].map((m) => [m[1], m[2]]))
    return (await run('trove', args, { env: { PATH: process.env.PATH, HOME: scratch, ...openrc }, timeout: 60_000 })).stdout
  }
  const coffer_ = async (...args: string[]) => (await run(COFFER_BIN, args, { env: { PATH: process.env.PATH, HOME: '/nonexistent', COFFER_HOME: coffer.home }, timeout: 60_000 })).stdout
  const ids = async (): Promise<string[]> => (await json('database', 'instance', 'list')).map((i: any) => i.ID ?? i.id)
  const removeAll = async () => {
    // Replicas first: a source with replicas is not deleted.
    const all = await json('database', 'instance', 'list')
    const order = [...all.filter((i: any) => i.Role === 'replica'), ...all.filter((i: any) => i.Role !== 'replica')]
    for (const i of order) await openstack('database', 'instance', 'delete', i.ID)
    for (let n = 0; n < 300 && (await ids()).length > 0; n++) await sleep(300)
    assert.deepEqual(await ids(), [])
  }
  /** Kills the engine of `inst` and takes its port, so its node cannot start it again. */
  const killSource = async (inst: any) => {
    const pid = Number(readFileSync(join(coffer.home, 'instances', inst.id, 'volume', 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
    process.kill(pid, 'SIGKILL')
    squatter = createServer((s) => s.destroy())
    const host = String(inst.ip).split(',')[0]!.trim()
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((resolve) => squatter!.once('error', () => resolve(false)).listen(Number(inst.port), host, () => resolve(true)))
      if (ok) return
      await sleep(20)
    }
    throw new Error(`could not take port ${inst.port} of ${inst.id}`)
  }
  const freePort = () => {
    squatter?.close()
    squatter = undefined
  }

  before(async () => {
    coffer = await startCoffer({ COFFER_FAILOVER_SECONDS: '2' })
    scratch = mkdtempSync('/tmp/coffer-trove-replicas-')
    env = { PATH: process.env.PATH, HOME: scratch, OS_CLIENT_CONFIG_FILE: join(coffer.home, 'clouds.yaml'), OS_CLOUD: 'coffer' }
  })
  after(async () => {
    squatter?.close()
    await coffer?.destroy()
    if (scratch) rmSync(scratch, { recursive: true, force: true })
  })

  it('trove: create --replica_of and --replica_count, show, promote, eject, detach', async (t) => {
    const src = table(await trove('create', 'tr-src', '1', '--size', '1', '--datastore', 'postgresql', '--datastore_version', '15', '--databases', 'app', '--users', `app:${PASSWORD}`))
    const a = await active(src.id!)
    await query(a, 'CREATE TABLE t (n text primary key)')
    await query(a, "INSERT INTO t VALUES ('before')")

    const made = table(await trove('create', 'tr-b', '1', '--replica_of', 'tr-src'))
    assert.equal(made.replica_of, a.id)
    const b = await active(made.id!)
    assert.equal(b.replica_of, a.id)
    assert.equal(b.flavor, a.flavor)
    assert.equal(b.volume, a.volume)

    const many = table(await trove('create', 'tr-c', '1', '--replica_of', a.id, '--replica_count', '2'))
    assert.equal(many.replica_of, a.id)
    const shownA = table(await trove('show', a.id))
    const replicas = shownA.replicas!.split(', ')
    assert.equal(replicas.length, 3, shownA.replicas)
    assert.ok(replicas.includes(b.id))
    const [c1, c2] = replicas.filter((r) => r !== b.id)
    for (const id of [c1!, c2!]) await active(id)
    const names = (await Promise.all([c1!, c2!].map(show))).map((i) => i.name).sort()
    assert.deepEqual(names, ['tr-c-1', 'tr-c-2'])
    assert.equal(table(await trove('show', c1!)).replica_of, a.id)
    await query(a, "INSERT INTO t VALUES ('after')")
    for (const r of [b, await show(c1!)]) {
      for (let i = 0; i < 100 && (await query(r, 'SELECT n FROM t').catch(() => [])).length < 2; i++) await sleep(200)
      assert.deepEqual((await query(r, 'SELECT n FROM t ORDER BY n')).map((x) => x.n), ['after', 'before'])
    }

    await trove('promote-to-replica-source', 'tr-b')
    const promoted = await until(b.id, (i) => i.status === 'ACTIVE' && !i.replica_of, 'promote')
    assert.deepEqual(String(promoted.replicas).split(', ').sort(), [a.id, c1, c2].sort())
    assert.equal((await active(a.id)).replica_of, b.id)
    await query(promoted, "INSERT INTO t VALUES ('on-b')")

    // The source's engine dies and cannot come back: a replica ejects it; the most advanced replica takes its place.
    await killSource(promoted)
    await until(b.id, (i) => i.status !== 'ACTIVE', 'the source seen lost')
    await trove('eject-replica-source', c1!)
    const old = await until(b.id, (i) => i.status === 'ERROR' && /ejected/.test(i.fault ?? ''), 'the old source ejected')
    assert.match(table(await trove('show', b.id)).fault!, /ejected/)
    assert.equal(old.replica_of, undefined)
    freePort()
    const set = await Promise.all([a.id, c1!, c2!].map(active))
    const sources = set.filter((i) => !i.replica_of)
    assert.equal(sources.length, 1, JSON.stringify(set))
    const s = sources[0]
    const rest = set.filter((i) => i.replica_of)
    for (const r of rest) assert.equal(r.replica_of, s.id)
    assert.deepEqual(String(s.replicas).split(', ').sort(), rest.map((r) => r.id).sort())
    assert.deepEqual((await query(s, 'SELECT n FROM t ORDER BY n')).map((x) => x.n), ['after', 'before', 'on-b'])
    await query(s, "INSERT INTO t VALUES ('after-eject')")

    // troveclient 8.0.0's detach-replica and update --detach_replica_source both call
    // `instances.edit`, which it no longer has, before any request is sent: the PUT they mean is
    // sent here by `openstack database instance detach`, which calls `instances.update`.
    for (const args of [['detach-replica', rest[0].id], ['update', rest[0].id, '--detach_replica_source']]) {
      await trove(...args).then(
        () => t.diagnostic(`trove ${args[0]} works with this troveclient`),
        (err: Error) => assert.match(err.message, /'Instances' object has no attribute 'edit'/),
      )
    }
    await openstack('database', 'instance', 'detach', rest[0].id)
    const detached = await until(rest[0].id, (i) => i.status === 'ACTIVE' && !i.replica_of, 'detach')
    await query(detached, "INSERT INTO t VALUES ('on-detached')")
    await openstack('database', 'instance', 'detach', rest[1].id)
    await until(rest[1].id, (i) => i.status === 'ACTIVE' && !i.replica_of, 'detach')
    assert.equal((await show(s.id)).replicas, undefined)
    await removeAll()
  })

  // The client's entry points are `database instance promote`, `eject` and `detach` (its classes
  // PromoteDatabaseInstanceToReplicaSource, EjectDatabaseInstanceReplicaSource, DetachDatabaseInstanceReplica).
  it('openstack database instance: create --replica-of, promote, eject, detach', async () => {
    const a = await active((await json('database', 'instance', 'create', 'osc-src', '--flavor', '1', '--size', '1', '--datastore', 'postgresql', '--datastore-version', '15', '--databases', 'app', '--users', `app:${PASSWORD}`)).id)
    await query(a, 'CREATE TABLE t (n text primary key)')
    const made = await json('database', 'instance', 'create', 'osc-b', '--replica-of', 'osc-src')
    assert.equal(made.replica_of, a.id)
    const b = await active(made.id)
    const c = await active((await json('database', 'instance', 'create', 'osc-c', '--replica-of', a.id, '--replica-count', '1')).id)
    assert.deepEqual(String((await show(a.id)).replicas).split(', ').sort(), [b.id, c.id].sort())
    const listed = await json('database', 'instance', 'list')
    assert.equal(listed.find((i: any) => i.ID === a.id).Role, 'primary')
    assert.equal(listed.find((i: any) => i.ID === b.id).Role, 'replica')

    await openstack('database', 'instance', 'promote', 'osc-b')
    const promoted = await until(b.id, (i) => i.status === 'ACTIVE' && !i.replica_of, 'promote')
    await active(a.id)
    await query(promoted, "INSERT INTO t VALUES ('on-b')")

    await killSource(promoted)
    await until(b.id, (i) => i.status !== 'ACTIVE', 'the source seen lost')
    await openstack('database', 'instance', 'eject', c.id)
    await until(b.id, (i) => i.status === 'ERROR' && /ejected/.test(i.fault ?? ''), 'the old source ejected')
    freePort()
    const set = await Promise.all([a.id, c.id].map(active))
    const s = set.find((i) => !i.replica_of)
    const r = set.find((i) => i.replica_of)
    assert.ok(s && r, JSON.stringify(set))
    assert.equal(r.replica_of, s.id)
    assert.deepEqual((await query(s, 'SELECT n FROM t')).map((x) => x.n), ['on-b'])

    await openstack('database', 'instance', 'detach', r.id)
    const detached = await until(r.id, (i) => i.status === 'ACTIVE' && !i.replica_of, 'detach')
    await query(detached, "INSERT INTO t VALUES ('on-detached')")
    await removeAll()
  })

  it('coffer create --replica_of and --replica_count, as the issue spells them', async () => {
    const a = await active((await json('database', 'instance', 'create', 'cli-src', '--flavor', '1', '--size', '1', '--datastore', 'postgresql', '--datastore-version', '15')).id)
    await coffer_('create', 'cli-b', '--replica_of', 'cli-src', '--replica_count', '2')
    const replicas = String((await show(a.id)).replicas).split(', ')
    assert.equal(replicas.length, 2)
    for (const id of replicas) assert.equal((await active(id)).replica_of, a.id)
    await removeAll()
  })

  it('refuses a bad replica request from the clients, changing nothing', async () => {
    await assert.rejects(trove('create', 'x', '1', '--replica_of', 'no-such-instance'), /No instance with a name or ID of 'no-such-instance' exists/)
    await assert.rejects(openstack('database', 'instance', 'promote', 'nothing'), /nothing/)
    assert.deepEqual(await ids(), [])
  })
})
