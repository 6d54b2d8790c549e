import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, readFile, writeFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { after, before, describe, it } from 'node:test'
import { FsObjectStore } from '../../../storage/fs/fs-object-store.js'
import { openSealed, putSealed } from './sealed-objects.js'

describe('sealed objects (zstd + chunked GCM to an object store)', () => {
  let dir: string
  let store: FsObjectStore
  const key = randomBytes(32)
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-sealed-'))
    store = new FsObjectStore(dir)
  })
  after(() => rm(dir, { recursive: true, force: true }))

  it('round-trips data, reporting plain bytes, and stores no plaintext', async () => {
    const plain = Buffer.concat([Buffer.from('SECRET-ROW '.repeat(100_000)), randomBytes(3_000_000)])
    const seen: number[] = []
    const put = await putSealed(store, 'backups/b1/data', Readable.from([plain]), key, { onProgress: (b) => seen.push(b) })
    assert.equal(put.plainBytes, plain.length)
    assert.equal(seen.at(-1), plain.length)
    const stored = await readFile(join(dir, 'backups/b1/data'))
    assert.equal(stored.length, put.size)
    assert.equal(stored.includes(Buffer.from('SECRET-ROW')), false)
    assert.deepEqual(await buffer(await openSealed(store, 'backups/b1/data', key, 'b1')), plain)
  })

  it('a flipped byte or a cut object fails the read with OBJECT_CORRUPT naming the backup', async () => {
    const put = await putSealed(store, 'backups/b2/data', Readable.from([randomBytes(2_500_000)]), key)
    const path = join(dir, 'backups/b2/data')
    const bytes = await readFile(path)
    bytes[Math.floor(bytes.length / 2)]! ^= 1
    await writeFile(path, bytes)
    await assert.rejects(buffer(await openSealed(store, 'backups/b2/data', key, 'b2')), (e: Error & { code?: string }) => e.code === 'OBJECT_CORRUPT' && /b2/.test(e.message))
    await writeFile(path, bytes.subarray(0, put.size - 40))
    await assert.rejects(buffer(await openSealed(store, 'backups/b2/data', key, 'b2')), (e: Error & { code?: string }) => e.code === 'OBJECT_CORRUPT')
  })

  it('a source that fails halfway leaves nothing under the key', async () => {
    async function* failing() {
      yield randomBytes(1_000_000)
      throw new Error('tool died')
    }
    await assert.rejects(putSealed(store, 'backups/b3/data', Readable.from(failing()), key), /tool died/)
    assert.equal(await store.head('backups/b3/data'), undefined)
    assert.deepEqual((await readdir(join(dir, 'backups'))).includes('b3') ? await readdir(join(dir, 'backups/b3')) : [], [])
  })
})
