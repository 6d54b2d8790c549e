/** FsObjectStore runs the shared ObjectStore suite (test/conformance/object-store-suite.ts) in a temporary folder. */
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { FsObjectStore } from '../src/storage/fs/fs-object-store.js'
import { runObjectStoreSuite } from './conformance/object-store-suite.js'

runObjectStoreSuite('fs', {
  async make() {
    const dir = await mkdtemp('/tmp/coffer-objects-suite-')
    const root = join(dir, 'objects')
    return {
      store: new FsObjectStore(root),
      async cleanup() {
        // Everything the suite put was deleted: no object, no partial file, no empty folder is left.
        try {
          const left = await readdir(root).catch(() => [])
          assert.deepEqual(left, [], `left under ${root}`)
          assert.equal((await stat(root)).mode & 0o777, 0o700)
        } finally {
          await rm(dir, { recursive: true, force: true })
        }
      },
    }
  },
})
