/**
 * An automatic failover survives the Coffer server dying in its middle: the server is SIGKILLed
 * right after the lost source is fenced (nothing promoted yet), or right after the replica is
 * promoted (before the set is recorded and the other replica repointed), started again on the
 * same home, and the set ends with exactly one source, writable, the other replica following it,
 * the old source fenced in ERROR, and nobody left in EJECT.
 */
import assert from 'node:assert/strict'
import type { Server } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, describe, it } from 'node:test'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import { ADMIN_PASSWORD, type CofferProcess } from './helpers/coffer-process.js'
import { loseEngine, makeSet, query } from './helpers/failover.js'

const exited = (c: CofferProcess) =>
  new Promise<void>((resolve) => (c.child.exitCode !== null || c.child.signalCode !== null ? resolve() : c.child.once('exit', () => resolve())))

describe('automatic failover across a server crash', () => {
  let coffer: CofferProcess | undefined
  let squatter: Server | undefined
  after(async () => {
    squatter?.close()
    await coffer?.destroy()
  })

  for (const step of ['fence-source', 'promote']) it(`ends with exactly one writable source when the server dies right after '${step}'`, async () => {
    const started = await startCofferAsAdmin({ COFFER_CRASH_AFTER_STEP: `eject-source:${step}` })
    coffer = started.coffer
    const { api } = started
    const { source, replicas } = await makeSet(api, 'crash-fo', 2, { auto_failover: true })
    await query(source, 'CREATE TABLE t (n int primary key)')
    await query(source, 'INSERT INTO t SELECT generate_series(1, 50)')
    await api.waitFor(source.id, (x) => Object.keys(x.body.instance.replication?.replicaLagBytes ?? {}).length === 2, 30_000)

    ;({ squatter } = await loseEngine(coffer, source))
    await exited(coffer)
    assert.equal(coffer.child.signalCode, 'SIGKILL', 'the fault point killed the server mid-failover')
    await coffer.restart()
    await api.login('admin', ADMIN_PASSWORD, 'admin')

    const ids = replicas.map((r) => r.id)
    let rs: any[] = []
    for (const deadline = Date.now() + 90_000; Date.now() < deadline; await sleep(200)) {
      rs = await Promise.all(ids.map(async (id) => (await api.api('GET', `/instances/${id}`)).body.instance))
      if (rs.every((r) => r.status === 'ACTIVE') && rs.filter((r) => !r.replica_of).length === 1) break
    }
    const sources = rs.filter((r) => !r.replica_of)
    assert.equal(sources.length, 1, `exactly one source: ${JSON.stringify(rs)}`)
    const [promoted] = sources
    const follower = rs.find((r) => r.id !== promoted.id)
    assert.equal(follower.replica_of.id, promoted.id)
    assert.ok(rs.every((r) => r.status === 'ACTIVE'), 'nobody left in EJECT')
    const old = (await api.api('GET', `/instances/${source.id}`)).body.instance
    assert.equal(old.status, 'ERROR')
    assert.match(old.fault.message, /ejected/)
    assert.equal(old.replica_of, undefined)

    await query(promoted, 'INSERT INTO t VALUES (51)')
    let seen = 0
    for (const deadline = Date.now() + 30_000; seen !== 51 && Date.now() < deadline; await sleep(100)) seen = (await query(follower, 'SELECT count(*)::int AS n FROM t'))[0].n
    assert.equal(seen, 51, 'the other replica follows the new source')
    await assert.rejects(query(follower, 'INSERT INTO t VALUES (52)'), 'the follower is read-only')

    for (const id of [follower.id, promoted.id, source.id]) await api.api('DELETE', `/instances/${id}`)
    for (const id of [follower.id, promoted.id, source.id]) await api.waitGone(id)
    squatter.close()
    squatter = undefined
    await coffer.destroy()
    coffer = undefined
  })
})
