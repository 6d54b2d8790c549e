import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { chooseFailover, lagOf } from './failover-choice.js'

describe('failover choice', () => {
  it('takes the most either side last reported', () => {
    assert.equal(lagOf({ role: 'source', replicaLagBytes: { b: 5000 } }, { id: 'b', report: { role: 'replica', connected: true, lagBytes: 10 } }), 5000)
    assert.equal(lagOf(undefined, { id: 'b', report: { role: 'replica', connected: true, lagBytes: 10 } }), 10)
    assert.equal(lagOf(undefined, { id: 'b', report: { role: 'replica', connected: true, lagSeconds: 0 } }), 0)
    assert.equal(lagOf(undefined, { id: 'b', report: { role: 'replica', connected: false } }), undefined)
  })

  it('fails over within the bound, saying how much may be lost', () => {
    const c = chooseFailover({ sync: false, source: { role: 'source', replicaLagBytes: { b: 900, c: 10 } }, replicas: [{ id: 'b' }, { id: 'c' }], maxLagBytes: 1000 })
    assert.deepEqual(c, { ok: true, mayLose: 10 })
  })

  it('refuses when every replica is further behind or unknown', () => {
    const c = chooseFailover({ sync: false, source: { role: 'source', replicaLagBytes: { b: 2000 } }, replicas: [{ id: 'b' }, { id: 'c' }], maxLagBytes: 1000 })
    assert.equal(c.ok, false)
    assert.match((c as { reason: string }).reason, /b: 2000 bytes behind, c: lag unknown/)
  })

  it('a synchronous set whose source had a synchronous replica loses nothing acknowledged', () => {
    assert.deepEqual(chooseFailover({ sync: true, source: { role: 'source', synchronous: 1, replicaLagBytes: { b: 1e9 } }, replicas: [{ id: 'b' }], maxLagBytes: 0 }), { ok: true, mayLose: 'sync' })
    assert.equal(chooseFailover({ sync: true, source: { role: 'source', synchronous: 0, replicaLagBytes: { b: 1e9 } }, replicas: [{ id: 'b' }], maxLagBytes: 0 }).ok, false)
  })
})
