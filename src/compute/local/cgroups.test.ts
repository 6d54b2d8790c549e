import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { limitFiles } from './cgroups.js'
import { parseMountinfo } from './loop-volume.js'

describe('flavor limits', () => {
  it('turn RAM into a memory limit and vCPUs into a CFS quota, on v1 and v2', () => {
    const v1 = limitFiles('cgroup-v1', { ramMb: 512, vcpus: 2 })
    assert.deepEqual(v1.memory, [['memory.limit_in_bytes', String(512 * 2 ** 20)]])
    assert.deepEqual(Object.fromEntries(v1.cpu), { 'cpu.cfs_period_us': '100000', 'cpu.cfs_quota_us': '200000', 'cpu.shares': '2048' })
    const v2 = limitFiles('cgroup-v2', { ramMb: 512, vcpus: 2 })
    assert.deepEqual(v2.memory, [['memory.max', String(512 * 2 ** 20)]])
    assert.deepEqual(Object.fromEntries(v2.cpu), { 'cpu.max': '200000 100000', 'cpu.weight': '200' })
  })
})

describe('mount table', () => {
  it('reads mount points and their sources, with escaped spaces', () => {
    const text = [
      '36 25 0:32 / /sys/fs/cgroup/memory rw,relatime shared:15 - cgroup cgroup rw,memory',
      '120 30 7:3 / /srv/coffer\\040home/instances/x/volume rw,nosuid,nodev,noexec,relatime - ext4 /dev/loop3 rw',
    ].join('\n')
    const m = parseMountinfo(text)
    assert.equal(m.get('/srv/coffer home/instances/x/volume'), '/dev/loop3')
    assert.equal(m.get('/sys/fs/cgroup/memory'), 'cgroup')
  })
})
