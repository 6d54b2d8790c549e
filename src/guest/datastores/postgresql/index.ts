/**
 * PostgreSQL on a node: discovery of installed versions, the engine's lifecycle, and databases and
 * users inside an instance. Imports only core, ../datastore.js and ../common.
 */
import type { Datastore } from '../datastore.js'
import { discoverPostgresql } from './manifest.js'
import { postgresqlEngine } from './manager.js'
import { warmPostgresql } from './template.js'
import { postgresqlDatabases } from './databases.js'
import { postgresqlUsers } from './users.js'
import { postgresqlRoot } from './root.js'

export const postgresql: Datastore = {
  discover: discoverPostgresql,
  osAccountName: 'postgres',
  engine: postgresqlEngine,
  warm: warmPostgresql,
  databases: postgresqlDatabases,
  users: postgresqlUsers,
  root: postgresqlRoot,
}
