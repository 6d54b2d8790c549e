/**
 * The one suite every ObjectStore runs: round trips of empty, small and 64 MB streamed objects
 * (generated, never held whole; compared by sha256), ranges, replacing, paged listing, deletes by
 * key and prefix, missing and refused keys, concurrent puts, a failing body that leaves nothing,
 * memory that stays bounded during a large put, and an encrypted object read back and verified.
 * What a driver cannot offer is skipped with a written reason (`skip`).
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { after, before, describe, it } from 'node:test'
import { GcmEncryptStream } from '../../src/storage/chunked-gcm.js'
import { listAll, type ObjectStore } from '../../src/storage/object-store.js'
import { verifyObject } from '../../src/storage/verify-object.js'
import type { SuiteSkip } from './datastore-suite.js'

export interface ObjectStoreUnderTest {
  readonly store: ObjectStore
  /** Removes what `make` set up (the fs root, the S3 client). Objects are deleted by the suite. */
  cleanup(): Promise<void>
}

export interface ObjectStoreSuiteOptions {
  make(): Promise<ObjectStoreUnderTest>
  /** Largest RSS growth allowed while the probe object streams in; default 24 MiB. */
  readonly memoryBoundBytes?: number
  /** The object put while memory is watched (64 MiB by default): well above the bound, so a put that held it whole fails. */
  readonly memoryProbeBytes?: number
  readonly skip?: readonly SuiteSkip[]
}

const MiB = 1024 * 1024


/** `size` pseudo-random bytes in 64 KiB pieces, generated as read; `sha256()` once it ended. */
export function generated(size: number, failAt?: number): Readable & { sha256(): string } {
  const hash = createHash('sha256')
  let sent = 0
  const r = new Readable({
    read() {
      if (failAt !== undefined && sent >= failAt) return this.destroy(new Error('the source failed halfway'))
      if (sent >= size) return void this.push(null)
      const piece = randomBytes(Math.min(64 * 1024, size - sent))
      hash.update(piece)
      sent += piece.length
      this.push(piece)
    },
  })
  let digest: string | undefined
  return Object.assign(r, { sha256: () => (digest ??= hash.digest('hex')) })
}

/** sha256 and size of a stream, read to its end without keeping it. */
export async function digestOf(body: Readable): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256')
  let size = 0
  await pipeline(body, new Writable({ write: (c: Buffer, _e, done) => (hash.update(c), (size += c.length), done()) }))
  return { size, sha256: hash.digest('hex') }
}

const text = async (body: Readable): Promise<string> => {
  const parts: Buffer[] = []
  for await (const c of body) parts.push(c as Buffer)
  return Buffer.concat(parts).toString('utf8')
}

export function runObjectStoreSuite(name: string, o: ObjectStoreSuiteOptions): void {
  describe(`object store suite: ${name}`, () => {
    let under: ObjectStoreUnderTest
    let store: ObjectStore
    // Every key of a run lies under its own prefix, so runs may share a bucket.
    const root = `suite-${randomBytes(4).toString('hex')}/`
    const k = (key: string): string => root + key

    const test = (title: string, fn: () => Promise<void>): void => {
      const reason = o.skip?.find((s) => s.tests.includes(title))?.reason
      it(title, reason ? { skip: reason } : {}, fn)
    }

    before(async () => {
      under = await o.make()
      store = under.store
    })
    after(async () => {
      if (!under?.store) return
      await store.deletePrefix(root).catch(() => undefined)
      await under.cleanup()
    })

    test('round trip > 0 bytes', async () => {
      const put = await store.put(k('empty'), Readable.from([]))
      assert.deepEqual(put, { key: k('empty'), size: 0, sha256: createHash('sha256').digest('hex') })
      assert.equal((await store.head(k('empty')))?.size, 0)
      assert.equal(await text(await store.get(k('empty'))), '')
    })

    test('round trip > small object, ranges, and replacing it', async () => {
      const put = await store.put(k('small/hello.txt'), Readable.from([Buffer.from('hello, '), Buffer.from('object store')]))
      assert.equal(put.size, 19)
      assert.equal(put.sha256, createHash('sha256').update('hello, object store').digest('hex'))
      const info = await store.head(k('small/hello.txt'))
      assert.equal(info?.size, 19)
      assert.ok(info.modifiedAt instanceof Date && Math.abs(info.modifiedAt.getTime() - Date.now()) < 10 * 60_000)
      assert.equal(await text(await store.get(k('small/hello.txt'))), 'hello, object store')
      assert.equal(await text(await store.get(k('small/hello.txt'), { range: { start: 7, end: 12 } })), 'object')
      assert.equal(await text(await store.get(k('small/hello.txt'), { range: { start: 14 } })), 'store')
      await store.put(k('small/hello.txt'), Readable.from([Buffer.from('replaced')]))
      assert.equal(await text(await store.get(k('small/hello.txt'))), 'replaced')
    })

    test('round trip > 64 MB streamed, compared by sha256', async () => {
      const source = generated(64 * MiB)
      const put = await store.put(k('big/64mb'), source)
      assert.equal(put.size, 64 * MiB)
      assert.equal(put.sha256, source.sha256())
      assert.equal((await store.head(k('big/64mb')))?.size, 64 * MiB)
      assert.deepEqual(await digestOf(await store.get(k('big/64mb'))), { size: 64 * MiB, sha256: put.sha256 })
      await store.delete(k('big/64mb'))
    })

    test('list > by prefix, in key order, paged', async () => {
      const keys = ['list/a/1', 'list/a/2', 'list/a/10', 'list/ab', 'list/b/1', 'list/é', 'list/z']
      await Promise.all(keys.map((key) => store.put(k(key), Readable.from([Buffer.from(key)]))))
      const byteOrder = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      const all = []
      for await (const info of listAll(store, k('list/'), 3)) all.push(info)
      assert.deepEqual(all.map((i) => i.key), byteOrder.map(k))
      assert.deepEqual(all.map((i) => i.size), byteOrder.map((key) => Buffer.byteLength(key)))
      const first = await store.list(k('list/'), { limit: 3 })
      assert.equal(first.objects.length, 3)
      assert.ok(first.next, 'a first page of 3 out of 7 says there is more')
      const second = await store.list(k('list/'), { limit: 3, after: first.next })
      assert.deepEqual(second.objects.map((i) => i.key), byteOrder.slice(3, 6).map(k))
      // A prefix that ends inside a segment matches names that start with it.
      assert.deepEqual((await store.list(k('list/a'))).objects.map((i) => i.key), ['list/a/1', 'list/a/10', 'list/a/2', 'list/ab'].map(k))
      assert.deepEqual((await store.list(k('list/a/'))).objects.map((i) => i.key), ['list/a/1', 'list/a/10', 'list/a/2'].map(k))
      assert.deepEqual((await store.list(k('nothing-here/'))).objects, [])
      assert.equal((await store.list(k('nothing-here/'))).next, undefined)
    })

    test('delete and delete by prefix', async () => {
      for (const key of ['del/x/1', 'del/x/2', 'del/x/3', 'del/xy', 'del/y']) await store.put(k(key), Readable.from([Buffer.from('x')]))
      await store.delete(k('del/y'))
      assert.equal(await store.head(k('del/y')), undefined)
      await store.delete(k('del/y')) // again: not an error
      assert.equal(await store.deletePrefix(k('del/x/')), 3)
      assert.deepEqual((await store.list(k('del/'))).objects.map((i) => i.key), [k('del/xy')])
      assert.equal(await store.deletePrefix(k('del/')), 1)
      assert.equal(await store.deletePrefix(k('del/')), 0)
    })

    test('missing keys', async () => {
      assert.equal(await store.head(k('missing/one')), undefined)
      await assert.rejects(store.get(k('missing/one')), (err: { code?: string; message: string }) => err.code === 'OBJECT_NOT_FOUND' && err.message.includes(k('missing/one')))
    })

    test('bad keys are refused', async () => {
      const bad = ['', '/abs', 'a/../b', '..', 'a/./b', 'a//b', 'a/', 'a/.hidden', 'tab\there', 'nl\nhere', 'back\\slash', 'x'.repeat(1025)]
      for (const key of bad) {
        for (const call of [() => store.put(key, Readable.from([Buffer.from('no')])), () => store.get(key), () => store.head(key), () => store.delete(key)]) {
          await assert.rejects(call(), (err: { code?: string }) => err.code === 'OBJECT_KEY_INVALID', `key ${JSON.stringify(key)}`)
        }
      }
      await assert.rejects(store.list('../'), (err: { code?: string }) => err.code === 'OBJECT_KEY_INVALID')
      await assert.rejects(store.deletePrefix(''), (err: { code?: string }) => err.code === 'OBJECT_KEY_INVALID')
    })

    test('concurrent puts', async () => {
      const sources = Array.from({ length: 8 }, () => generated(3 * MiB + 17))
      const puts = await Promise.all(sources.map((s, i) => store.put(k(`concurrent/${i}`), s)))
      for (const [i, s] of sources.entries()) {
        assert.equal(puts[i]?.sha256, s.sha256())
        assert.deepEqual(await digestOf(await store.get(k(`concurrent/${i}`))), { size: 3 * MiB + 17, sha256: s.sha256() })
      }
      // The same key from several writers at once: one whole object wins, never a mix.
      const same = Array.from({ length: 4 }, () => generated(2 * MiB))
      const results = await Promise.all(same.map((s) => store.put(k('concurrent/same'), s)))
      const stored = await digestOf(await store.get(k('concurrent/same')))
      assert.ok(results.some((r) => r.sha256 === stored.sha256), 'the stored object is one of the puts')
    })

    test('a failing body leaves nothing', async () => {
      await assert.rejects(store.put(k('failing/obj'), generated(12 * MiB, 6 * MiB)), /the source failed halfway/)
      assert.equal(await store.head(k('failing/obj')), undefined)
      assert.deepEqual((await store.list(k('failing/'))).objects, [])
    })

    test('memory stays bounded during a large put', async () => {
      const bound = o.memoryBoundBytes ?? 24 * MiB
      const size = o.memoryProbeBytes ?? 64 * MiB
      const label = `${size / MiB} MiB`
      // A multipart put first, so what a first put costs once (clients, TLS, lazily loaded code) is not counted.
      await store.put(k('memory/warm-up'), generated(20 * MiB))
      await store.delete(k('memory/warm-up'))
      const before = process.memoryUsage.rss()
      let peak = before
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10)
      try {
        const source = generated(size)
        const started = performance.now()
        const put = await store.put(k('memory/large'), source)
        assert.equal(put.size, size)
        console.log(`# ${name}: a ${label} put took ${Math.round(performance.now() - started)} ms`)
      } finally {
        clearInterval(sampler)
      }
      const growth = peak - before
      console.log(`# ${name}: RSS growth during a ${label} put: ${(growth / MiB).toFixed(1)} MiB (bound ${bound / MiB} MiB)`)
      assert.ok(growth < bound, `RSS grew ${(growth / MiB).toFixed(1)} MiB during a ${label} put`)
      await store.delete(k('memory/large'))
    })

    test('an encrypted object is stored without its plaintext and verifies', async () => {
      const dataKey = randomBytes(32)
      const secret = `password=${randomBytes(8).toString('hex')}`
      const body = Readable.from([Buffer.from(secret), randomBytes(3 * MiB)])
      const put = await store.put(k('sealed/obj'), body.pipe(new GcmEncryptStream(dataKey, 256 * 1024)))
      const stored = await text(await store.get(k('sealed/obj')))
      assert.ok(!stored.includes(secret), 'the stored bytes hold no plaintext')
      const report = await verifyObject(store, { key: k('sealed/obj'), size: put.size, sha256: put.sha256, dataKey })
      assert.deepEqual({ ok: report.ok, problem: report.problem, chunks: report.chunks }, { ok: true, problem: undefined, chunks: 14 })
      const wrong = await verifyObject(store, { key: k('sealed/obj'), size: put.size, sha256: put.sha256, dataKey: randomBytes(32), name: 'backup b-1' })
      assert.equal(wrong.ok, false)
      assert.match(wrong.problem ?? '', /backup b-1 failed its check: chunk 0/)
      const gone = await verifyObject(store, { key: k('sealed/none'), size: 1, sha256: put.sha256 })
      assert.match(gone.problem ?? '', /sealed\/none is not in the object store/)
    })
  })
}
