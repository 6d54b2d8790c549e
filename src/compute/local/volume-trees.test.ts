import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { measureTree, parseDu, removeTree, VolumeMeter } from './volume-trees.js'

describe('volume trees', () => {
  it('reads the byte count of du -s -B1', () => {
    assert.equal(parseDu('123456\t/x/volume\n'), 123456)
    assert.equal(parseDu(''), -1)
    assert.equal(parseDu('du: cannot read'), -1)
  })

  it('measures and removes a tree in child processes; a missing tree is 0 and removing it again is fine', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-tree-'))
    mkdirSync(join(dir, 'a', 'b'), { recursive: true })
    writeFileSync(join(dir, 'a', 'b', 'f'), Buffer.alloc(64 * 1024, 1))
    assert.ok((await measureTree(dir)) >= 64 * 1024)
    await removeTree(dir)
    assert.equal(await measureTree(dir), 0)
    await removeTree(dir)
    rmSync(dir, { recursive: true, force: true })
  })

  it('answers a heartbeat with the last figure while a new measure runs, one at a time', async () => {
    const pending: ((n: number) => void)[] = []
    const meter = new VolumeMeter(() => new Promise((r) => pending.push(r)))
    const first = meter.usedBytes('i', '/v')
    assert.equal(pending.length, 1, 'the first read waits for a measure')
    pending[0]!(10)
    assert.equal(await first, 10)
    assert.equal(await meter.usedBytes('i', '/v'), 10, 'a later read answers at once')
    assert.equal(await meter.usedBytes('i', '/v'), 10)
    assert.equal(pending.length, 2, 'while one measure runs, no second starts')
    pending[1]!(20)
    await new Promise((r) => setImmediate(r))
    assert.equal(await meter.usedBytes('i', '/v'), 20)
  })

  it('keeps the last figure when a measure fails, and drops a forgotten volume', async () => {
    let fail = false
    const meter = new VolumeMeter(async () => {
      if (fail) throw new Error('timed out')
      return 5
    })
    assert.equal(await meter.usedBytes('i', '/v'), 5)
    fail = true
    assert.equal(await meter.usedBytes('i', '/v'), 5)
    await new Promise((r) => setImmediate(r))
    assert.equal(await meter.usedBytes('i', '/v'), 5)
    meter.forget('i')
    fail = false
    assert.equal(await meter.usedBytes('i', '/v'), 5)
  })

  it('walks again only once the figure is refreshMs old; a volume of its own is read every time', async () => {
    let walks = 0
    const meter = new VolumeMeter(async () => ++walks, { refreshMs: 60_000 })
    assert.equal(await meter.usedBytes('i', '/v'), 1)
    assert.equal(await meter.usedBytes('i', '/v'), 1)
    await new Promise((r) => setImmediate(r))
    assert.equal(walks, 1, 'no second walk within refreshMs')
    const mounted = new VolumeMeter(async () => ++walks, { refreshMs: 60_000, mounted: async () => 7 })
    assert.equal(await mounted.usedBytes('m', '/m'), 7)
    assert.equal(walks, 1, 'a mount is never walked')
  })
})
