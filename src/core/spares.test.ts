import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseSparePolicy, parseSpareSizes, planSpares, wantedSpares, type SparePool } from './spares.js'

const quiet = { nowMs: 1_000_000, backoffMs: 60_000, clientsCreating: false }
const pool = (p: Partial<SparePool>): SparePool => ({ versionId: 'v', wanted: 2, ready: [], building: 0, broken: [], ...p })

describe('spare planning', () => {
  it('starts one spare at a time for a short pool', () => {
    assert.deepEqual(planSpares([pool({ ready: [] })], quiet), [{ kind: 'make', versionId: 'v' }])
    assert.deepEqual(planSpares([pool({ ready: [], building: 1 })], quiet), [])
    assert.deepEqual(planSpares([pool({ ready: ['a', 'b'] })], quiet), [])
  })

  it('waits while a client create is in progress', () => {
    assert.deepEqual(planSpares([pool({ ready: [] })], { ...quiet, clientsCreating: true }), [])
  })

  it('retires broken spares, and then waits out the back-off before trying again', () => {
    assert.deepEqual(planSpares([pool({ broken: ['x'], lastFailureAt: quiet.nowMs - 1000 })], quiet), [{ kind: 'retire', id: 'x' }])
    assert.deepEqual(planSpares([pool({ lastFailureAt: quiet.nowMs - 61_000 })], quiet), [{ kind: 'make', versionId: 'v' }])
  })

  it('retires the oldest beyond the wanted number, counting those being built', () => {
    assert.deepEqual(planSpares([pool({ wanted: 1, ready: ['old', 'new'] })], quiet), [{ kind: 'retire', id: 'old' }])
    assert.deepEqual(planSpares([pool({ wanted: 1, ready: ['old', 'new'], building: 1 })], quiet), [
      { kind: 'retire', id: 'old' },
      { kind: 'retire', id: 'new' },
    ])
    assert.deepEqual(planSpares([pool({ wanted: 0, ready: ['a'] })], quiet), [{ kind: 'retire', id: 'a' }])
  })

  it('plans each version on its own', () => {
    const plan = planSpares([pool({ versionId: 'pg', ready: ['p1', 'p2'] }), pool({ versionId: 'redis', ready: ['r1'] })], quiet)
    assert.deepEqual(plan, [{ kind: 'make', versionId: 'redis' }])
  })
})

describe('COFFER_SPARES', () => {
  it('reads datastore=count pairs, and none', () => {
    assert.deepEqual(parseSpareSizes('redis=10, postgresql=2'), { redis: 10, postgresql: 2 })
    assert.deepEqual(parseSpareSizes('none'), {})
    assert.deepEqual(parseSpareSizes(''), {})
  })

  it('refuses anything else, naming the part', () => {
    assert.throws(() => parseSpareSizes('redis'), /'redis' is not datastore=count/)
    assert.throws(() => parseSpareSizes('redis=-1'), /'redis=-1'/)
    assert.throws(() => parseSpareSizes('redis=1000'), /more than 100/)
  })

  it('reads on-demand: one spare of a datastore once it has been used, alone or beside counts', () => {
    const p = parseSparePolicy('on-demand')
    assert.deepEqual(p, { sizes: {}, onceUsed: 1 })
    assert.equal(wantedSpares(p, 'redis', false), 0)
    assert.equal(wantedSpares(p, 'redis', true), 1)
    const mixed = parseSparePolicy('on-demand=2, redis=10')
    assert.equal(wantedSpares(mixed, 'redis', false), 10)
    assert.equal(wantedSpares(mixed, 'mariadb', true), 2)
    assert.deepEqual(parseSparePolicy('none'), { sizes: {}, onceUsed: 0 })
    assert.deepEqual(parseSparePolicy('redis=3'), { sizes: { redis: 3 }, onceUsed: 0 })
    assert.throws(() => parseSparePolicy('on-demand=x'), /'on-demand=x'/)
  })
})
