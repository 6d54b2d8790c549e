/** A pass-through that counts and hashes the bytes going by, so a put knows size and sha256 without a second read. */
import { createHash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'

export class DigestStream extends Transform {
  #hash = createHash('sha256')
  #size = 0

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#hash.update(chunk)
    this.#size += chunk.length
    done(null, chunk)
  }

  /** Bytes seen. Not `size`: lib-storage's Upload takes a body's `size` for its length (as a Blob's). */
  get bytes(): number {
    return this.#size
  }

  /** Hex sha256; call once, after the stream ended. */
  digest(): string {
    return this.#hash.digest('hex')
  }
}
