import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { redisTuning } from './tuning.js'

const mb = (v: string): number => {
  const m = /^(\d+)mb$/.exec(v)
  assert.ok(m, `maxmemory in mb: ${v}`)
  return Number(m[1])
}

describe('redisTuning', () => {
  it('gives a 512 MB flavor 307mb of data, 2048 clients and one I/O thread', () => {
    assert.deepEqual(redisTuning({ ramMb: 512, vcpus: 1 }), {
      maxmemory: '307mb',
      'maxmemory-policy': 'volatile-lru',
      maxclients: '2048',
      'io-threads': '1',
    })
  })

  it('never evicts keys without a TTL', () => {
    for (const ramMb of [64, 512, 65536]) assert.match(redisTuning({ ramMb, vcpus: 2 })['maxmemory-policy'], /^(volatile-|noeviction$)/)
  })

  it('keeps floors on tiny flavors and ceilings on big ones', () => {
    const tiny = redisTuning({ ramMb: 16, vcpus: 0 })
    assert.equal(tiny.maxmemory, '16mb')
    assert.equal(tiny.maxclients, '128')
    assert.equal(tiny['io-threads'], '1')
    const big = redisTuning({ ramMb: 256 * 1024, vcpus: 64 })
    assert.equal(big.maxclients, '10000')
    assert.equal(big['io-threads'], '8')
  })

  it('leaves at least a third of RAM for fork copy-on-write and buffers', () => {
    for (const ramMb of [128, 512, 1024, 3000, 8192, 65536]) {
      assert.ok(mb(redisTuning({ ramMb, vcpus: 2 }).maxmemory) <= ramMb * (2 / 3), `ram ${ramMb}`)
    }
  })

  it('uses I/O threads only from 4 vCPUs, keeping cores spare', () => {
    assert.deepEqual([1, 2, 3, 4, 6, 8, 16].map((vcpus) => redisTuning({ ramMb: 1024, vcpus })['io-threads']), ['1', '1', '1', '3', '4', '6', '8'])
  })

  it('grows monotonically with RAM', () => {
    let prev = redisTuning({ ramMb: 64, vcpus: 1 })
    for (const ramMb of [128, 512, 1024, 3000, 8192, 32768]) {
      const t = redisTuning({ ramMb, vcpus: 1 })
      assert.ok(mb(t.maxmemory) >= mb(prev.maxmemory), `maxmemory at ${ramMb}`)
      assert.ok(Number(t.maxclients) >= Number(prev.maxclients), `maxclients at ${ramMb}`)
      prev = t
    }
  })
})
