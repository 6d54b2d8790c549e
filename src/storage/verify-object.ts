/**
 * Reads a stored object back and checks it: its size and sha256 against what the put recorded and,
 * for an encrypted object, every GCM tag. A backup is COMPLETED only after this says ok.
 */
import { type Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { errorMessage } from '../core/errors.js'
import { GcmDecryptStream } from './chunked-gcm.js'
import { DigestStream } from './digest-stream.js'
import type { ObjectStore } from './object-store.js'

export interface ExpectedObject {
  readonly key: string
  /** As recorded from the put's result. */
  readonly size: number
  readonly sha256: string
  /** The object's data key, when it was written through GcmEncryptStream: its tags are checked too. */
  readonly dataKey?: Buffer
  /** How messages name it (a backup's id); the key by default. */
  readonly name?: string
}

export interface VerifyReport {
  readonly key: string
  readonly ok: boolean
  /** What was read back. */
  readonly size: number
  readonly sha256: string
  /** Chunks whose tags were checked (encrypted objects). */
  readonly chunks?: number
  /** Why it is not ok, naming the object. */
  readonly problem?: string
}

export async function verifyObject(store: ObjectStore, o: ExpectedObject): Promise<VerifyReport> {
  let body: Readable
  try {
    body = await store.get(o.key)
  } catch (err) {
    return { key: o.key, ok: false, size: 0, sha256: '', problem: errorMessage(err) }
  }
  return compare(await readBack(body, o), o)
}

/**
 * Reads `body` (the object as stored, read back) to its end: its size, sha256 and, with a data
 * key, every GCM tag; `problem` says what failed. Always consumes `body` to its end or destroys it.
 * `ok` still has to be decided against what the put recorded (`compare`).
 */
export async function readBack(body: Readable, o: Pick<ExpectedObject, 'key' | 'dataKey' | 'name'>): Promise<VerifyReport> {
  const name = o.name ?? o.key
  const digest = new DigestStream()
  // Tags only: the read-back needs to know each byte is the one written, not the plaintext.
  const tags = o.dataKey ? new GcmDecryptStream(o.dataKey, name, { tagsOnly: true }) : undefined
  const sink = new Writable({ write: (_c, _e, done) => done() })
  let problem: string | undefined
  try {
    await (tags ? pipeline(body, digest, tags, sink) : pipeline(body, digest, sink))
  } catch (err) {
    problem = errorMessage(err)
  }
  const sha256 = digest.digest()
  return { key: o.key, ok: !problem, size: digest.bytes, sha256, ...(tags ? { chunks: tags.chunks } : {}), ...(problem ? { problem } : {}) }
}

/** A read-back's report judged against the size and sha256 the put recorded. */
export function compare(r: VerifyReport, o: ExpectedObject): VerifyReport {
  const name = o.name ?? o.key
  let problem = r.problem
  if (!problem && r.size !== o.size) problem = `object ${name} is ${r.size} bytes, ${o.size} were stored`
  if (!problem && r.sha256 !== o.sha256) problem = `object ${name} does not match its sha256 (${r.sha256}, ${o.sha256} was stored)`
  return { ...r, ok: !problem, ...(problem ? { problem } : {}) }
}
