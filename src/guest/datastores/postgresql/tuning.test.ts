import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { memory, postgresqlTuning } from './tuning.js'

const kb = (v: string | undefined): number => {
  const m = /^(\d+)(kB|MB)$/.exec(v ?? '')
  assert.ok(m, `memory value with unit: ${v}`)
  return Number(m[1]) * (m[2] === 'MB' ? 1024 : 1)
}

describe('postgresqlTuning', () => {
  it('gives a 512 MB flavor 100 connections, 128MB shared buffers and 384MB cache', () => {
    const t = postgresqlTuning({ ramMb: 512, vcpus: 1 })
    assert.equal(t.max_connections, '100')
    assert.equal(t.shared_buffers, '128MB')
    assert.equal(t.effective_cache_size, '384MB')
    assert.equal(t.maintenance_work_mem, '32MB')
    assert.equal(t.work_mem, '1310kB')
    assert.equal(t.max_parallel_workers_per_gather, '0')
    assert.equal(t.max_parallel_workers, '1')
  })

  it('keeps floors on tiny flavors', () => {
    const t = postgresqlTuning({ ramMb: 64, vcpus: 1 })
    assert.equal(t.max_connections, '20')
    assert.equal(t.shared_buffers, '32MB')
    assert.equal(t.work_mem, '1MB')
    assert.equal(t.maintenance_work_mem, '16MB')
  })

  it('keeps ceilings on big flavors', () => {
    const t = postgresqlTuning({ ramMb: 256 * 1024, vcpus: 32 })
    assert.equal(t.max_connections, '500')
    assert.equal(t.shared_buffers, '65536MB')
    assert.equal(t.work_mem, '64MB')
    assert.equal(t.maintenance_work_mem, '2048MB')
    assert.equal(t.max_parallel_workers_per_gather, '4')
    assert.equal(t.max_worker_processes, '32')
  })

  it('never promises more sort memory than RAM left over by shared buffers', () => {
    for (const ramMb of [128, 512, 1024, 2048, 4096, 8192, 16384, 65536]) {
      const t = postgresqlTuning({ ramMb, vcpus: 2 })
      const sortsAtOnce = kb(t.work_mem) * 3 * Number(t.max_connections)
      assert.ok(sortsAtOnce + kb(t.shared_buffers) <= ramMb * 1024 * 1.0001 || kb(t.work_mem) === 1024, `ram ${ramMb}`)
      assert.ok(kb(t.shared_buffers) <= kb(t.effective_cache_size), `ram ${ramMb}`)
    }
  })

  it('grows monotonically with RAM', () => {
    let prev = postgresqlTuning({ ramMb: 256, vcpus: 1 })
    for (const ramMb of [512, 1024, 3000, 8192, 32768]) {
      const t = postgresqlTuning({ ramMb, vcpus: 1 })
      for (const key of ['shared_buffers', 'effective_cache_size', 'maintenance_work_mem'] as const) {
        assert.ok(kb(t[key]) >= kb(prev[key]), `${key} at ${ramMb}`)
      }
      assert.ok(Number(t.max_connections) >= Number(prev.max_connections))
      prev = t
    }
  })

  it('writes whole megabytes as MB and the rest as kB', () => {
    assert.equal(memory(2048), '2MB')
    assert.equal(memory(1500), '1500kB')
  })
})
