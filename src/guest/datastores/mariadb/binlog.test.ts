import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { describe, it } from 'node:test'
import { BinlogTimes, binlogNumber, openLogState } from './binlog.js'

/** An event: the 19-byte header (timestamp, type, server_id, size, next, flags) and `body` bytes. */
function event(time: number, type: number, body: number): Buffer {
  const e = Buffer.alloc(19 + body, 0xab)
  e.writeUInt32LE(time, 0)
  e.writeUInt8(type, 4)
  e.writeUInt32LE(7, 5)
  e.writeUInt32LE(19 + body, 9)
  return e
}
const log = (...events: Buffer[]): Buffer => Buffer.concat([Buffer.from([0xfe, 0x62, 0x69, 0x6e]), ...events])

describe('MariaDB binary log headers', () => {
  const bytes = log(event(100, 15, 237), event(0, 163, 10), event(100, 161, 20), event(105, 2, 300), event(107, 30, 5000), event(106, 4, 40))

  it('finds the first and last event times whatever the chunking', async () => {
    for (const size of [1, 7, 19, 64, bytes.length]) {
      const chunks = []
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
      const times = new BinlogTimes()
      const out: Buffer[] = []
      for await (const c of Readable.from(chunks).pipe(times)) out.push(c as Buffer)
      assert.deepEqual(Buffer.concat(out), bytes, 'passed through unchanged')
      assert.deepEqual([times.first, times.last], [100, 107], `chunks of ${size}`)
    }
  })

  it('tells an open log with events from one holding only what every new log starts with', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'coffer-binlog-'))
    try {
      const path = join(dir, 'binlog.000003')
      const preamble = log(event(100, 15, 237), event(100, 163, 10), event(100, 161, 20))
      await writeFile(path, Buffer.concat([preamble, event(101, 2, 50)]))
      assert.deepEqual(await openLogState(path, preamble.length), { createdAt: 100, hasEvents: false })
      assert.deepEqual(await openLogState(path, preamble.length + 69), { createdAt: 100, hasEvents: true })
      assert.equal(binlogNumber('binlog.000003'), 3)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
