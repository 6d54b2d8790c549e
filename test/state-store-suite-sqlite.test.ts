/** The SQLite state store runs the shared StateStore suite (test/conformance/state-store-suite.ts) on a fresh file. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSqliteStore } from '../src/store/state-store.js'
import { runStateStoreSuite } from './conformance/state-store-suite.js'

runStateStoreSuite('sqlite', {
  async make() {
    const dir = await mkdtemp(join(tmpdir(), 'coffer-store-suite-'))
    return { open: () => openSqliteStore(join(dir, 'state.sqlite')), cleanup: () => rm(dir, { recursive: true, force: true }) }
  },
})
