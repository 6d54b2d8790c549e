/**
 * The ObjectStore seam: where backup objects live. Every method streams; nothing here holds a whole
 * object in memory or writes a temporary file the size of the data. Keys are `/`-separated paths
 * checked by `checkObjectKey` (object-key.ts) before any driver sees them.
 */
import type { Readable } from 'node:stream'
import type { VerifyReport } from './verify-object.js'

/** What a finished put wrote. */
export interface PutResult {
  readonly key: string
  /** Bytes stored. */
  readonly size: number
  /** Hex sha256 of the bytes stored, computed while they streamed past (or as read back: `readBackAuthenticates`). */
  readonly sha256: string
  /**
   * What `readBack` (a put's option) found in the bytes read back from the store while it wrote
   * them; absent when the store cannot read an object before it is whole (S3): the caller reads it
   * back afterwards then.
   */
  readonly readBack?: VerifyReport
}

export interface PutOptions {
  readonly signal?: AbortSignal
  /**
   * Checks the object's bytes as read back from the store (not as sent), fed as they are written;
   * a store that cannot ignores it. It must consume its stream to the end (or destroy it).
   */
  readonly readBack?: (stored: Readable) => Promise<VerifyReport>
  /**
   * `readBack` checks every byte by itself (a sealed object's GCM tags): a store that reads back
   * as it writes then records the sha256 of the bytes read back and does not hash them twice.
   */
  readonly readBackAuthenticates?: boolean
}

export interface ObjectInfo {
  readonly key: string
  readonly size: number
  readonly modifiedAt: Date
}

export interface ListPage {
  /** In byte order of their keys. */
  readonly objects: readonly ObjectInfo[]
  /** Pass to the next `list` call to go on; absent on the last page. Opaque to callers. */
  readonly next?: string
}

export interface ListOptions {
  /** Most objects per page; default 1000 (S3's own ceiling). */
  readonly limit?: number
  /** `next` of the previous page. */
  readonly after?: string
}

/** Inclusive byte range, as HTTP's `Range: bytes=start-end`; `end` absent means to the end. */
export interface ByteRange {
  readonly start: number
  readonly end?: number
}

export interface ObjectStore {
  /** `fs` or `s3`: for messages and the README's figures only; callers never branch on it. */
  readonly kind: string
  /**
   * Stores `body` under `key`, replacing what was there. Readers see the old object or the whole new
   * one, never part of it. When `body` fails or `signal` aborts, nothing is left behind and the
   * promise rejects with the body's error. OBJECT_KEY_INVALID for a bad key.
   */
  put(key: string, body: Readable, options?: PutOptions): Promise<PutResult>
  /**
   * The object's bytes (or a range of them) as a stream. Rejects with NotFound (OBJECT_NOT_FOUND)
   * before any byte when the key is not there.
   */
  get(key: string, options?: { readonly range?: ByteRange }): Promise<Readable>
  /** Size and time of the object; undefined when it is not there. */
  head(key: string): Promise<ObjectInfo | undefined>
  /** One page of the objects whose keys start with `prefix` ('' for all). */
  list(prefix: string, options?: ListOptions): Promise<ListPage>
  /** Removes the object; a key that is not there is not an error (deletes are retried). */
  delete(key: string): Promise<void>
  /** Removes every object under `prefix` (which must be a valid key prefix, not ''); returns how many. */
  deletePrefix(prefix: string): Promise<number>
}

/** Every object under `prefix`, page by page. */
export async function* listAll(store: ObjectStore, prefix: string, limit?: number): AsyncGenerator<ObjectInfo> {
  let after: string | undefined
  do {
    const page = await store.list(prefix, { ...(limit ? { limit } : {}), ...(after ? { after } : {}) })
    yield* page.objects
    after = page.next
  } while (after)
}
