/** MariaDB 10.11 runs the shared datastore suite (test/conformance/datastore-suite.ts). */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { mariadb } from '../src/guest/datastores/mariadb/index.js'
import { runDatastoreSuite } from './conformance/datastore-suite.js'
import { mariadbConfiguration, mariadbProbe } from './helpers/engines.js'

// The saved overrides are what my.cnf's group settings are rendered from at every start. MariaDB
// starts with a bad number (it clamps it), but not with a character set it does not know.
const overrides = (ctx: { guestDir: string }, values: object) => writeFile(join(ctx.guestDir, 'mariadb-configuration.json'), JSON.stringify({ values }), { mode: 0o600 })

runDatastoreSuite('mariadb', {
  datastore: mariadb,
  probe: mariadbProbe,
  configuration: mariadbConfiguration,
  breakConfiguration: (ctx) => overrides(ctx, { character_set_server: 'nosuch' }),
  repairConfiguration: (ctx) => overrides(ctx, {}),
})
