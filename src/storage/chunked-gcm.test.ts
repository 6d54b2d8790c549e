import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { describe, it } from 'node:test'
import { backupKeyPath, loadBackupKey, parseBackupKey } from './backup-key.js'
import { GcmDecryptStream, GcmEncryptStream } from './chunked-gcm.js'
import { newDataKey, unwrapDataKey, wrapDataKey } from './data-key.js'

const seal = async (plain: Buffer, key: Buffer, chunk: number, pieces = 7): Promise<Buffer> => {
  const parts: Buffer[] = []
  const step = Math.max(1, Math.ceil(plain.length / pieces))
  const chunks = Array.from({ length: Math.ceil(plain.length / step) }, (_, i) => plain.subarray(i * step, (i + 1) * step))
  for await (const c of Readable.from(chunks).pipe(new GcmEncryptStream(key, chunk))) parts.push(c as Buffer)
  return Buffer.concat(parts)
}
const open = async (sealed: Buffer, key: Buffer, name = 'backup b-1', piece = 1000, tagsOnly = false): Promise<Buffer> => {
  const parts: Buffer[] = []
  const pieces = Array.from({ length: Math.ceil(sealed.length / piece) }, (_, i) => sealed.subarray(i * piece, (i + 1) * piece))
  for await (const c of Readable.from(pieces).pipe(new GcmDecryptStream(key, name, { tagsOnly }))) parts.push(c as Buffer)
  return Buffer.concat(parts)
}
/** Both ways of reading: decrypting, and checking the tags only (a read-back); both must refuse alike. */
const ways = [
  { how: 'decrypting', open: (sealed: Buffer, key: Buffer, piece?: number) => open(sealed, key, 'backup b-1', piece) },
  { how: 'tags only', open: (sealed: Buffer, key: Buffer, piece?: number) => open(sealed, key, 'backup b-1', piece, true) },
]
const corrupt = (name: string, why: RegExp) => (err: { code?: string; message: string }) => err.code === 'OBJECT_CORRUPT' && err.message.includes(name) && why.test(err.message)

describe('chunked AES-256-GCM', () => {
  it('round-trips empty, short, exact-multiple and ragged streams', async () => {
    const key = newDataKey()
    for (const size of [0, 1, 99, 100, 101, 1000, 4096 + 3]) {
      const plain = randomBytes(size)
      const sealed = await seal(plain, key, 100)
      assert.equal(sealed.length, 15 + size + 16 * (Math.ceil(size / 100) + 1), `overhead for ${size} bytes`)
      assert.deepEqual(await open(sealed, key), plain, `${size} bytes`)
    }
  })

  it('holds no plaintext', async () => {
    const plain = Buffer.from('user=alice password=hunter2 '.repeat(100))
    const sealed = await seal(plain, newDataKey(), 64)
    assert.ok(!sealed.includes('hunter2') && !sealed.includes('alice'))
  })

  it('checks tags only: accepts every well-sealed stream, outputs nothing, counts its chunks', async () => {
    const key = newDataKey()
    for (const [size, chunk] of [[0, 100], [1, 100], [100, 100], [1000, 100], [4096 + 3, 100], [300_000, 65_536], [70_000, 17]] as const) {
      const sealed = await seal(randomBytes(size), key, chunk)
      for (const piece of [1, 16, 1000, 1 << 20]) {
        const check = new GcmDecryptStream(key, 'backup b-1', { tagsOnly: true })
        const out: Buffer[] = []
        for await (const c of Readable.from([...Array(Math.ceil(sealed.length / piece)).keys()].map((i) => sealed.subarray(i * piece, (i + 1) * piece))).pipe(check)) out.push(c as Buffer)
        assert.equal(Buffer.concat(out).length, 0, `${size} bytes in ${piece}-byte pieces`)
        assert.equal(check.chunks, Math.ceil(size / chunk) + 1, `${size} bytes: every chunk and the end chunk checked`)
      }
    }
  })

  for (const way of ways) {
    it(`refuses an object with one byte altered, anywhere, naming it (${way.how})`, async () => {
      const key = newDataKey()
      const sealed = await seal(randomBytes(1000), key, 100)
      for (let at = 0; at < sealed.length; at += at < 40 ? 1 : 37) {
        for (const bit of [0x01, 0x80]) {
          const bad = Buffer.from(sealed)
          bad[at]! ^= bit
          await assert.rejects(way.open(bad, key), corrupt('backup b-1', /failed its check/), `byte ${at}, bit ${bit}`)
        }
      }
      const last = Buffer.from(sealed)
      last[sealed.length - 1]! ^= 0x01
      await assert.rejects(way.open(last, key), corrupt('backup b-1', /failed its check/), 'the end tag\'s last byte')
    })

    it(`refuses a truncated object, also cut at a chunk boundary, and one with bytes added (${way.how})`, async () => {
      const key = newDataKey()
      const sealed = await seal(randomBytes(1000), key, 100)
      const boundary = 15 + 3 * 116 // after three whole chunks
      for (const length of [0, 10, 15, 30, boundary, sealed.length - 16, sealed.length - 1]) {
        await assert.rejects(way.open(sealed.subarray(0, length), key), corrupt('backup b-1', /cut short|GCM tag|header/), `cut to ${length}`)
      }
      await assert.rejects(way.open(Buffer.concat([sealed, Buffer.alloc(16)]), key), corrupt('backup b-1', /GCM tag|follow/))
      // Two chunks swapped: each chunk's nonce carries its place.
      const swapped = Buffer.concat([sealed.subarray(0, 15), sealed.subarray(15 + 116, 15 + 232), sealed.subarray(15, 15 + 116), sealed.subarray(15 + 232)])
      await assert.rejects(way.open(swapped, key), corrupt('backup b-1', /chunk 0 fails/))
      // A data chunk relabelled as the end: the end flag is in the nonce.
      const early = Buffer.concat([sealed.subarray(0, 15 + 116), sealed.subarray(sealed.length - 16)])
      await assert.rejects(way.open(early, key), corrupt('backup b-1', /GCM tag/))
    })

    it(`refuses the wrong data key (${way.how})`, async () => {
      const sealed = await seal(randomBytes(300), newDataKey(), 100)
      await assert.rejects(way.open(sealed, newDataKey()), corrupt('backup b-1', /chunk 0 fails its GCM tag/))
    })
  }
})

describe('data keys wrapped by the master key', () => {
  it('round-trips, and fails with another master key or another backup\'s label', () => {
    const master = randomBytes(32)
    const dataKey = newDataKey()
    const wrapped = wrapDataKey(master, dataKey, 'backup b-1')
    assert.ok(!wrapped.includes(dataKey.toString('base64url')))
    assert.deepEqual(unwrapDataKey(master, wrapped, 'backup b-1'), dataKey)
    assert.throws(() => unwrapDataKey(randomBytes(32), wrapped, 'backup b-1'), corrupt('backup b-1', /does not open with this master key/))
    assert.throws(() => unwrapDataKey(master, wrapped, 'backup b-2'), corrupt('backup b-2', /does not open/))
    assert.throws(() => unwrapDataKey(master, 'wrapped:v1:AAAA', 'backup b-1'), corrupt('backup b-1', /wrong length/))
  })

  it('a wrong master key fails the whole chain: unwrap, then nothing decrypts', async () => {
    const master = randomBytes(32)
    const dataKey = newDataKey()
    const sealed = await seal(Buffer.from('rows'), dataKey, 100)
    const wrapped = wrapDataKey(master, dataKey, 'backup b-9')
    assert.throws(() => unwrapDataKey(randomBytes(32), wrapped, 'backup b-9'), corrupt('backup b-9', /master key/))
    assert.deepEqual(await open(sealed, unwrapDataKey(master, wrapped, 'backup b-9')), Buffer.from('rows'))
  })

  it('the master key is made once in the private part, 0600, or taken from COFFER_BACKUP_KEY', async () => {
    const home = await mkdtemp(join(tmpdir(), 'coffer-backup-key-'))
    try {
      const first = await loadBackupKey(home)
      assert.equal(first.length, 32)
      assert.deepEqual(await loadBackupKey(home), first)
      assert.equal((await stat(backupKeyPath(home))).mode & 0o777, 0o600)
      assert.deepEqual(await readFile(backupKeyPath(home)), first)
      const hex = randomBytes(32)
      assert.deepEqual(await loadBackupKey(home, hex.toString('hex')), hex)
      assert.deepEqual(parseBackupKey(hex.toString('base64')), hex)
      assert.throws(() => parseBackupKey('too-short-secret'), (err: Error) => !err.message.includes('too-short-secret'))
    } finally {
      await rm(home, { recursive: true, force: true })
    }
  })
})
