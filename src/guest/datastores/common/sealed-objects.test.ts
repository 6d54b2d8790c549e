import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, readFile, writeFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { after, before, describe, it } from 'node:test'
import { FsObjectStore } from '../../../storage/fs/fs-object-store.js'
import { exited, openSealed, putSealed, unsealInto } from './sealed-objects.js'

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

  it('a tool\'s pipe sealed on the worker thread keeps every byte, its first ones too, and unseals into another tool\'s pipe', async () => {
    const plain = randomBytes(6_000_000)
    const file = join(dir, 'plain')
    await writeFile(file, plain)
    // The pipe's stream is read from by nobody but the worker's zstd, however long the worker takes to start.
    const tool = spawn('cat', [file], { stdio: ['ignore', 'pipe', 'ignore'] })
    const put = await putSealed(store, 'backups/b4/data', { input: tool.stdout, done: exited(tool, 'cat') }, key)
    assert.equal(put.plainBytes, plain.length)
    const sink = spawn('sha256sum', [], { stdio: ['pipe', 'pipe', 'ignore'] })
    const sum = buffer(sink.stdout)
    await unsealInto(store, 'backups/b4/data', key, 'b4', sink.stdin)
    assert.equal((await sum).toString().split(' ')[0], createHash('sha256').update(plain).digest('hex'))
  })

  it('a tool that fails after the worker stored its stream leaves nothing under the key', async () => {
    const tool = spawn('sh', ['-c', 'head -c 3000000 /dev/urandom; exit 3'], { stdio: ['ignore', 'pipe', 'ignore'] })
    await assert.rejects(putSealed(store, 'backups/b5/data', { input: tool.stdout, done: exited(tool, 'the tool') }, key), /the tool ended with exit code 3/)
    assert.equal(await store.head('backups/b5/data'), undefined)
  })
})
