/**
 * What Coffer reads of a binary log itself: the event headers (19 bytes: timestamp u32, type u8,
 * server_id u32, event_size u32, next position u32, flags u16, little-endian) after the 4-byte
 * magic, for the times of the first and last events and to see whether the open log holds any
 * event beyond the ones every new log starts with. Event bodies are never looked at.
 */
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import { Transform, type TransformCallback } from 'node:stream'

const MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e])
const HEADER = 13 // timestamp, type, server_id, event_size: what is read of each header
/** Events a new log starts with: format description, binlog checkpoint, GTID list, start encryption. */
const PREAMBLE = new Set([15, 161, 163, 164])

/** The number in `binlog.000012`; NaN for another name. */
export const binlogNumber = (name: string): number => {
  const m = /\.(\d+)$/.exec(name)
  return m ? Number(m[1]) : NaN
}

/** Passes a binary log through, noting its first and last event times (seconds since 1970). */
export class BinlogTimes extends Transform {
  first: number | undefined
  last: number | undefined
  #offset = 0
  #next = MAGIC.length
  #header = Buffer.alloc(0)

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const end = this.#offset + chunk.length
    while (this.#next < end) {
      const from = Math.max(0, this.#next + this.#header.length - this.#offset)
      const take = chunk.subarray(from, from + HEADER - this.#header.length)
      this.#header = Buffer.concat([this.#header, take])
      if (this.#header.length < HEADER) break
      const time = this.#header.readUInt32LE(0)
      const size = this.#header.readUInt32LE(9)
      this.#header = Buffer.alloc(0)
      if (size < 19) return done(new Error(`not a binary log: an event of ${size} bytes at ${this.#next}`))
      if (time > 0) {
        this.first ??= time
        this.last = Math.max(this.last ?? 0, time)
      }
      this.#next += size
    }
    this.#offset = end
    done(null, chunk)
  }
}

/**
 * The open log's creation time (its format description event) and whether anything was written to
 * it up to `position` (SHOW MASTER STATUS) beyond the events every new log starts with.
 */
export async function openLogState(path: string, position: number): Promise<{ readonly createdAt: number; readonly hasEvents: boolean }> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW)
  try {
    const buf = Buffer.alloc(64 * 1024)
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0)
    if (bytesRead < MAGIC.length + 19 || !buf.subarray(0, 4).equals(MAGIC)) throw new Error(`${path} is not a binary log`)
    const createdAt = buf.readUInt32LE(4)
    let at = MAGIC.length
    while (at + 19 <= bytesRead && at < position && PREAMBLE.has(buf[at + 4]!)) at += buf.readUInt32LE(at + 9)
    // Beyond what was read and still in the preamble: a huge GTID list; count it as events.
    return { createdAt, hasEvents: at < position }
  } finally {
    await fh.close()
  }
}
