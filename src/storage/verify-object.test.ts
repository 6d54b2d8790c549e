import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, open, readFile, rm, truncate } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { after, describe, it } from 'node:test'
import { GcmEncryptStream } from './chunked-gcm.js'
import { FsObjectStore } from './fs/fs-object-store.js'
import { compare, readBack, verifyObject } from './verify-object.js'

describe('verifyObject on a stored encrypted object', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-verify-'))
  after(() => rm(dir, { recursive: true, force: true }))
  const store = new FsObjectStore(dir)
  const dataKey = randomBytes(32)
  const put = async (key: string) => store.put(key, Readable.from([randomBytes(300_000)]).pipe(new GcmEncryptStream(dataKey, 64 * 1024)))

  it('passes when untouched, and reports the chunks checked', async () => {
    const p = await put('b/ok')
    const r = await verifyObject(store, { ...p, dataKey, name: 'backup ok' })
    assert.deepEqual([r.ok, r.chunks, r.problem], [true, 6, undefined])
  })

  it('fails on one byte altered, naming the backup', async () => {
    const p = await put('b/tampered')
    const fh = await open(join(dir, 'b', 'tampered'), 'r+')
    const byte = Buffer.alloc(1)
    await fh.read(byte, 0, 1, 100_000)
    byte[0]! ^= 0x80
    await fh.write(byte, 0, 1, 100_000)
    await fh.close()
    const r = await verifyObject(store, { ...p, dataKey, name: 'backup tampered' })
    assert.equal(r.ok, false)
    assert.match(r.problem ?? '', /backup tampered failed its check: chunk 1 fails its GCM tag/)
    // Without the data key the sha256 still catches it.
    const bare = await verifyObject(store, { ...p, name: 'backup tampered' })
    assert.match(bare.problem ?? '', /backup tampered does not match its sha256/)
  })

  it('fails when truncated', async () => {
    const p = await put('b/cut')
    await truncate(join(dir, 'b', 'cut'), 15 + 2 * (64 * 1024 + 16))
    const r = await verifyObject(store, { ...p, dataKey, name: 'backup cut' })
    assert.match(r.problem ?? '', /backup cut failed its check/)
  })

  it('reads back while it writes (fs): the same size, sha256 and tags as a read once whole', async () => {
    const body = Readable.from([randomBytes(3_000_000)]).pipe(new GcmEncryptStream(dataKey, 64 * 1024))
    const p = await store.put('b/behind', body, { readBack: (stored) => readBack(stored, { key: 'b/behind', dataKey }) })
    assert.ok(p.readBack)
    assert.deepEqual([p.readBack.ok, p.readBack.size, p.readBack.sha256, p.readBack.chunks], [true, p.size, p.sha256, 47])
    assert.equal(compare(p.readBack, { ...p, dataKey }).ok, true)
    assert.match(compare(p.readBack, { ...p, sha256: '0'.repeat(64) }).problem ?? '', /does not match its sha256/)
    const whole = await verifyObject(store, { ...p, dataKey })
    assert.deepEqual([whole.ok, whole.chunks], [true, 47])
  })

  it('a read-back that authenticates every byte: the sha256 recorded is the stored file\'s, hashed once', async () => {
    const body = Readable.from([randomBytes(2_000_000)]).pipe(new GcmEncryptStream(dataKey, 64 * 1024))
    const p = await store.put('b/once', body, { readBack: (stored) => readBack(stored, { key: 'b/once', dataKey }), readBackAuthenticates: true })
    assert.equal(p.readBack?.ok, true)
    assert.equal(p.sha256, createHash('sha256').update(await readFile(join(dir, 'b', 'once'))).digest('hex'))
    assert.equal((await verifyObject(store, { ...p, dataKey })).ok, true)
    const wrong = await store.put('b/once-wrong', Readable.from([randomBytes(300_000)]).pipe(new GcmEncryptStream(dataKey, 64 * 1024)), {
      readBack: (stored) => readBack(stored, { key: 'b/once-wrong', dataKey: randomBytes(32), name: 'backup w2' }),
      readBackAuthenticates: true,
    })
    assert.match(compare(wrong.readBack!, { ...wrong, dataKey }).problem ?? '', /backup w2 failed its check/)
  })

  it('a read-back under the wrong key fails it, and the put still stores the object', async () => {
    const body = Readable.from([randomBytes(500_000)]).pipe(new GcmEncryptStream(dataKey, 64 * 1024))
    const p = await store.put('b/wrong-key', body, { readBack: (stored) => readBack(stored, { key: 'b/wrong-key', dataKey: randomBytes(32), name: 'backup w' }) })
    assert.equal(p.readBack?.ok, false)
    assert.match(p.readBack?.problem ?? '', /backup w failed its check/)
    assert.equal((await store.head('b/wrong-key'))?.size, p.size)
  })

  it('a put whose body fails while it reads back ends at once, leaving nothing', async () => {
    const body = new PassThrough()
    const sealed = body.pipe(new GcmEncryptStream(dataKey, 64 * 1024))
    const putting = store.put('b/failing', sealed, { readBack: (stored) => readBack(stored, { key: 'b/failing', dataKey }) })
    for (let i = 0; i < 40; i++) {
      body.write(randomBytes(256 * 1024))
      await new Promise((r) => setImmediate(r))
    }
    sealed.destroy(new Error('the tool was killed'))
    await assert.rejects(putting, /the tool was killed/)
    assert.equal(await store.head('b/failing'), undefined)
  })
})
