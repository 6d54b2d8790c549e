import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { mariadbTuning, megabytes } from './tuning.js'

describe('mariadbTuning', () => {
  it('gives a 512 MB flavor a 256M pool, the template\'s 16M redo log and 100 connections', () => {
    assert.deepEqual(mariadbTuning({ ramMb: 512, vcpus: 1 }), {
      innodb_buffer_pool_size: '256M',
      innodb_log_file_size: '16M',
      innodb_log_buffer_size: '4M',
      max_connections: '100',
      tmp_table_size: '16M',
      max_heap_table_size: '16M',
    })
  })

  it('matches MariaDB\'s defaults around 1 GB', () => {
    const t = mariadbTuning({ ramMb: 1024, vcpus: 1 })
    assert.equal(t.innodb_buffer_pool_size, '512M')
    assert.equal(t.max_connections, '150')
    assert.equal(mariadbTuning({ ramMb: 2048, vcpus: 1 }).innodb_log_buffer_size, '16M')
  })

  it('gives big flavors three quarters of RAM and keeps ceilings', () => {
    const t = mariadbTuning({ ramMb: 16384, vcpus: 8 })
    assert.equal(t.innodb_buffer_pool_size, '12288M')
    assert.equal(t.innodb_log_file_size, '768M')
    assert.equal(t.innodb_log_buffer_size, '64M')
    assert.equal(t.max_connections, '1000')
    assert.equal(t.tmp_table_size, '256M')
    const huge = mariadbTuning({ ramMb: 256 * 1024, vcpus: 64 })
    assert.equal(huge.innodb_log_file_size, '1024M')
    assert.equal(huge.tmp_table_size, '256M')
    assert.equal(huge.max_connections, '1000')
  })

  it('keeps floors on tiny flavors', () => {
    const t = mariadbTuning({ ramMb: 64, vcpus: 1 })
    assert.equal(t.innodb_buffer_pool_size, '64M')
    assert.equal(t.innodb_log_file_size, '16M')
    assert.equal(t.max_connections, '60')
    assert.equal(mariadbTuning({ ramMb: 0, vcpus: 0 }).max_connections, '50')
  })

  it('leaves room beside the pool and grows monotonically with RAM', () => {
    let prev = mariadbTuning({ ramMb: 256, vcpus: 1 })
    for (const ramMb of [512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288, 16384]) {
      const t = mariadbTuning({ ramMb, vcpus: 2 })
      const pool = megabytes(t.innodb_buffer_pool_size)
      assert.ok(pool >= ramMb * 0.5 - 16 && pool <= ramMb * 0.75, `pool ${pool} at ${ramMb}`)
      assert.ok(ramMb - pool >= Math.min(1024, ramMb / 4), `headroom at ${ramMb}`)
      for (const key of Object.keys(t)) {
        const grew = key === 'max_connections' ? Number(t[key]) >= Number(prev[key]) : megabytes(t[key]) >= megabytes(prev[key])
        assert.ok(grew, `${key} at ${ramMb}`)
      }
      assert.equal(t.tmp_table_size, t.max_heap_table_size)
      assert.ok(megabytes(t.innodb_log_file_size) % 16 === 0)
      prev = t
    }
  })

  it('reads sizes in MB', () => {
    assert.equal(megabytes('96M'), 96)
    assert.throws(() => megabytes('1G'))
  })
})
