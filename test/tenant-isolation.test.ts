/**
 * An enabled root can run programs or write files as its engine's OS account; that account is the
 * instance's own, so it reaches nothing of another instance.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import pg from 'pg'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import { TestClient } from './helpers/api-client.js'
import type { CofferProcess } from './helpers/coffer-process.js'

describe('tenant isolation', { skip: process.getuid?.() !== 0 && 'per-instance accounts need root' }, () => {
  let coffer: CofferProcess
  let api: TestClient
  const active = async (datastore: string, name: string) => {
    const r = await api.api('POST', '/instances', { instance: { name, flavorRef: '1', volume: { size: 1 }, datastore: { type: datastore } } })
    const inst = (await api.waitActive(r.body.instance.id)).body.instance
    assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
    return inst as { id: string; ip: string[]; port: number }
  }
  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin())
  })
  after(async () => coffer?.destroy())

  it('a PostgreSQL root cannot read another instance\'s volume with COPY ... TO PROGRAM', async () => {
    const [a, b] = [await active('postgresql', 'pg-a'), await active('postgresql', 'pg-b')]
    const { name, password } = (await api.api('POST', `/instances/${a.id}/root`)).body.user
    const c = new pg.Client({ host: a.ip[0], port: a.port, user: name, password, database: 'postgres' })
    await c.connect()
    try {
      // Its own volume is reachable: the program really runs.
      await c.query(`COPY (SELECT 1) TO PROGRAM 'ls ${join(coffer.home, 'instances', a.id, 'volume')} > /dev/null'`)
      await assert.rejects(c.query(`COPY (SELECT 1) TO PROGRAM 'ls ${join(coffer.home, 'instances', b.id, 'volume')} > /dev/null'`), /program .* failed/)
      await assert.rejects(c.query(`COPY (SELECT 1) TO PROGRAM 'cat /etc/shadow > /dev/null'`), /program .* failed/)
    } finally {
      await c.end()
    }
  })

  it('a Redis root cannot point its files elsewhere: dir is a protected config', async () => {
    const [a, b] = [await active('redis', 'redis-a'), await active('redis', 'redis-b')]
    const { name, password } = (await api.api('POST', `/instances/${a.id}/root`)).body.user
    const r = new Redis({ host: a.ip[0], port: a.port, username: name, password, lazyConnect: true, maxRetriesPerRequest: 0 })
    r.on('error', () => {})
    await r.connect()
    try {
      await assert.rejects(r.config('SET', 'dir', join(coffer.home, 'instances', b.id, 'volume', 'data')), /can't set protected config/)
    } finally {
      r.disconnect()
    }
  })
})
