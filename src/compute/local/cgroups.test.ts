import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { inCgroups } from '../../guest/datastores/common/process.js'
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

  it('start an engine through a shell that joins each cgroup, then becomes the account', () => {
    const { command, args } = inCgroups({ command: '/usr/bin/postgres', args: ['-D', '/x'], account: { name: 'a', uid: 7, gid: 8, cgroupProcs: ['/cg/memory/procs', '/cg/cpu/procs'] } })
    assert.equal(command, '/bin/sh')
    assert.deepEqual(args.slice(2), ['sh', '/cg/memory/procs', '/cg/cpu/procs', '--', 'setpriv', '--reuid=7', '--regid=8', '--clear-groups', '/usr/bin/postgres', '-D', '/x'])
  })

  it('the joining shell writes its own pid, which the engine keeps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-cg-'))
    mkdirSync(join(dir, 'm'))
    writeFileSync(join(dir, 'm', 'procs'), '')
    const { args } = inCgroups({ command: '/bin/true', args: [], account: { name: 'a', uid: 0, gid: 0, cgroupProcs: [join(dir, 'm', 'procs')] } })
    // Without setpriv's switch (args after '--' replaced by a plain echo of the pid).
    const script = args[1]!
    const { execFileSync } = await import('node:child_process')
    const out = execFileSync('/bin/sh', ['-c', script, 'sh', join(dir, 'm', 'procs'), '--', '/bin/sh', '-c', 'echo $$'], { encoding: 'utf8' })
    assert.equal(readFileSync(join(dir, 'm', 'procs'), 'utf8').trim(), out.trim())
    rmSync(dir, { recursive: true, force: true })
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
