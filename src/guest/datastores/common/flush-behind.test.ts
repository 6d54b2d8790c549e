import assert from 'node:assert/strict'
import type { FileHandle } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { writeFileFlushed } from './flush-behind.js'

/** A file's flush calls, as the helper makes them (the flushes themselves are the kernel's business). */
function flushLog(datasyncMs: number) {
  const log = { datasyncs: 0, syncs: 0, overlapping: 0, running: 0 }
  const file = {
    datasync: async () => {
      log.datasyncs++
      if (++log.running > 1) log.overlapping++
      await sleep(datasyncMs)
      log.running--
    },
    sync: async () => {
      log.syncs++
    },
  }
  return { log, file: file as unknown as FileHandle }
}

describe('writeFileFlushed', () => {
  it('flushes while the work runs, one flush at a time, and syncs once after it', async () => {
    const { log, file } = flushLog(400)
    assert.equal(await writeFileFlushed(file, sleep(1300).then(() => 'written')), 'written')
    assert.ok(log.datasyncs >= 2, `${log.datasyncs} flushes behind a 1.3 s write`)
    assert.equal(log.overlapping, 0)
    assert.equal(log.syncs, 1)
    assert.equal(log.running, 0, 'no flush is left running')
  })

  it('a failed work is rethrown, and nothing claims the file durable', async () => {
    const { log, file } = flushLog(10)
    await assert.rejects(writeFileFlushed(file, sleep(300).then(() => Promise.reject(new Error('zstd died')))), /zstd died/)
    assert.equal(log.syncs, 0)
  })
})
