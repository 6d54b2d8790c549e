/** PostgreSQL 15 runs the shared datastore suite (test/conformance/datastore-suite.ts). */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { postgresql } from '../src/guest/datastores/postgresql/index.js'
import { runDatastoreSuite } from './conformance/datastore-suite.js'
import { postgresqlConfiguration, postgresqlProbe } from './helpers/engines.js'

// The saved overrides are what postgresql.auto.conf is rendered from at every start.
const overrides = (ctx: { guestDir: string }, values: object) => writeFile(join(ctx.guestDir, 'postgresql-configuration.json'), JSON.stringify(values), { mode: 0o600 })

runDatastoreSuite('postgresql', {
  datastore: postgresql,
  version: '15',
  probe: postgresqlProbe,
  configuration: postgresqlConfiguration,
  stopSignal: 'SIGQUIT',
  breakConfiguration: (ctx) => overrides(ctx, { work_mem: 'lots' }),
  repairConfiguration: (ctx) => overrides(ctx, {}),
})
