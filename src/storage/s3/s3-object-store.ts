/**
 * The distributed mode's object store: an S3-compatible server (AWS, MinIO, OpenStack Swift's
 * s3api). Uploads are multipart through lib-storage's `Upload`, which holds at most
 * `queueSize × partSize` bytes; downloads are the response body itself.
 */
import { readFileSync } from 'node:fs'
import { Agent } from 'node:https'
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import {
  AbortMultipartUploadCommand,
  ListMultipartUploadsCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { CofferError, NotFound } from '../../core/errors.js'
import { DigestStream } from '../digest-stream.js'
import { checkObjectKey, checkObjectPrefix } from '../object-key.js'
import type { ByteRange, ListOptions, ListPage, ObjectInfo, ObjectStore, PutOptions, PutResult } from '../object-store.js'

export interface S3ObjectStoreOptions {
  /** `https://host:port` (or http); path-style addressing is always used (Swift's s3api wants it). */
  readonly endpoint: string
  readonly bucket: string
  /** Must equal the server's location (s3api's `location`); default us-east-1. */
  readonly region?: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
  /** PEM file of the CA (or the self-signed certificate) the endpoint's certificate is checked against. */
  readonly caFile?: string
  /**
   * Bytes per multipart part; default 8 MiB. Swift's s3api takes at most 1,000 parts, so this bounds
   * an object at 1,000 × partSize (8 GiB by default); raise it for larger backups, at the cost of memory.
   */
  readonly partSize?: number
  /** Parts uploaded at once; default 2 (memory is queueSize × partSize). */
  readonly queueSize?: number
}

const MiB = 1024 * 1024
/** Objects removed at once by deletePrefix. One by one rather than DeleteObjects: recent SDKs sign that with a CRC32 that S3-compatible servers may refuse. */
const DELETE_CONCURRENCY = 8

export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3'
  readonly #client: S3Client
  readonly #bucket: string
  readonly #partSize: number
  readonly #queueSize: number

  constructor(o: S3ObjectStoreOptions) {
    this.#bucket = o.bucket
    this.#partSize = o.partSize ?? 8 * MiB
    this.#queueSize = o.queueSize ?? 2
    this.#client = new S3Client({
      endpoint: o.endpoint,
      region: o.region ?? 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
      // The SDK's default CRC32 checksums make a streamed PutObject answer 501 on Swift's s3api.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(o.caFile ? { requestHandler: { httpsAgent: new Agent({ ca: readFileSync(o.caFile), keepAlive: true }) } } : {}),
    })
  }

  /** Makes the bucket when it is not there (pgBackRest and the SDK's puts expect it to exist). */
  async ensureBucket(): Promise<void> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket }))
    } catch (err) {
      if (!isMissing(err)) throw this.#fault(err, `bucket ${this.#bucket}`)
      await this.#client.send(new CreateBucketCommand({ Bucket: this.#bucket })).catch((e: unknown) => {
        if ((e as { name?: string }).name !== 'BucketAlreadyOwnedByYou') throw this.#fault(e, `bucket ${this.#bucket}`)
      })
    }
  }

  // A multipart upload's parts cannot be read before it completes: no read-back while writing.
  async put(key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    checkObjectKey(key)
    const digest = new DigestStream()
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: this.#bucket, Key: key, Body: digest },
      partSize: this.#partSize,
      queueSize: this.#queueSize,
      // A failed multipart upload is aborted, so no orphan parts stay in the segments container.
      leavePartsOnError: false,
    })
    const onAbort = (): void => void upload.abort().catch(() => undefined)
    options.signal?.addEventListener('abort', onAbort, { once: true })
    let bodyError: unknown
    body.once('error', (err) => (bodyError ??= err))
    try {
      // Upload reads from the digest while the body is piped into it; a failure on either side
      // destroys the other, so neither waits forever.
      const uploaded = upload.done().catch((err: unknown) => {
        digest.destroy(err as Error)
        throw err
      })
      const fed = pipeline(body, digest).catch(async (err: unknown) => {
        await upload.abort().catch(() => undefined)
        throw err
      })
      const results = await Promise.allSettled([fed, uploaded])
      const failed = results.find((r) => r.status === 'rejected')
      if (failed) throw failed.reason
      options.signal?.throwIfAborted()
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason
      throw bodyError ?? this.#fault(err, `object ${key}`)
    } finally {
      options.signal?.removeEventListener('abort', onAbort)
    }
    return { key, size: digest.bytes, sha256: digest.digest() }
  }

  async get(key: string, options: { readonly range?: ByteRange } = {}): Promise<Readable> {
    checkObjectKey(key)
    const { range } = options
    try {
      const r = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end ?? ''}` } : {}) }),
      )
      return r.Body as Readable
    } catch (err) {
      throw isMissing(err) ? missing(key) : this.#fault(err, `object ${key}`)
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    checkObjectKey(key)
    try {
      const r = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }))
      return { key, size: r.ContentLength ?? 0, modifiedAt: r.LastModified ?? new Date(0) }
    } catch (err) {
      if (isMissing(err)) return undefined
      throw this.#fault(err, `object ${key}`)
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    checkObjectPrefix(prefix)
    try {
      const r = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: prefix,
          MaxKeys: options.limit ?? 1000,
          ...(options.after ? { ContinuationToken: options.after } : {}),
        }),
      )
      const objects = (r.Contents ?? []).map((o) => ({ key: o.Key ?? '', size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) }))
      return { objects, ...(r.IsTruncated && r.NextContinuationToken ? { next: r.NextContinuationToken } : {}) }
    } catch (err) {
      throw this.#fault(err, `objects under ${prefix || '/'}`)
    }
  }

  async delete(key: string): Promise<void> {
    checkObjectKey(key)
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }))
    } catch (err) {
      if (!isMissing(err)) throw this.#fault(err, `object ${key}`)
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    checkObjectKey(prefix, 'object prefix', true)
    let count = 0
    // Always the first page: what was deleted no longer shows, so no cursor is needed.
    for (;;) {
      const page = await this.list(prefix)
      const keys = page.objects.map((o) => o.key)
      for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) await Promise.all(keys.slice(i, i + DELETE_CONCURRENCY).map((k) => this.delete(k)))
      count += keys.length
      if (!page.next || keys.length === 0) break
    }
    await this.#abortUploads(prefix)
    return count
  }

  /** Multipart uploads a killed process left under `prefix` hold storage without being objects: aborted. */
  async #abortUploads(prefix: string): Promise<void> {
    const r = await this.#client.send(new ListMultipartUploadsCommand({ Bucket: this.#bucket, Prefix: prefix })).catch(() => undefined)
    for (const u of r?.Uploads ?? []) {
      if (u.Key && u.UploadId) await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: u.Key, UploadId: u.UploadId })).catch(() => undefined)
    }
  }

  /** Stops the client's connections (tests; the process otherwise keeps them until it exits). */
  close(): void {
    this.#client.destroy()
  }

  /** An SDK failure as a CofferError naming the object and the server's answer; never the credentials. */
  #fault(err: unknown, what: string): unknown {
    if (err instanceof CofferError) return err
    const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } }
    const status = e.$metadata?.httpStatusCode
    // 5xx and network failures may pass; 4xx (auth, bad request) will not by being retried.
    const retryable = status === undefined || status >= 500
    return new CofferError('INTERNAL', `object store (s3, bucket ${this.#bucket}): ${what}: ${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`, {
      cause: err,
      retryable,
    })
  }
}

const isMissing = (err: unknown): boolean => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } }
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.name === 'NoSuchBucket' || e.$metadata?.httpStatusCode === 404
}

const missing = (key: string): NotFound => new NotFound(`object ${key} is not in the object store`, 'OBJECT_NOT_FOUND')
