import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { inCgroups } from './process.js'

describe('engines in cgroups', () => {
  it('start an engine through a shell that joins each cgroup, then becomes the account', () => {
    const { command, args } = inCgroups({ command: '/usr/bin/postgres', args: ['-D', '/x'], account: { name: 'a', uid: 7, gid: 8, cgroupProcs: ['/cg/memory/procs', '/cg/cpu/procs'] } })
    assert.equal(command, '/bin/sh')
    assert.deepEqual(args.slice(2), ['sh', '/cg/memory/procs', '/cg/cpu/procs', '--', 'setpriv', '--reuid=7', '--regid=8', '--clear-groups', '/usr/bin/postgres', '-D', '/x'])
  })

  it('the joining shell writes its own pid, which the engine keeps', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-cg-'))
    mkdirSync(join(dir, 'm'))
    writeFileSync(join(dir, 'm', 'procs'), '')
    const { args } = inCgroups({ command: '/bin/true', args: [], account: { name: 'a', uid: 0, gid: 0, cgroupProcs: [join(dir, 'm', 'procs')] } })
    // Without setpriv's switch (args after '--' replaced by a plain echo of the pid).
    const script = args[1]!
    const out = execFileSync('/bin/sh', ['-c', script, 'sh', join(dir, 'm', 'procs'), '--', '/bin/sh', '-c', 'echo $$'], { encoding: 'utf8' })
    assert.equal(readFileSync(join(dir, 'm', 'procs'), 'utf8').trim(), out.trim())
    rmSync(dir, { recursive: true, force: true })
  })
})
