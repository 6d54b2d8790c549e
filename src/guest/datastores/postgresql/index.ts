/**
 * PostgreSQL on a node: discovery of installed versions, the engine's lifecycle, databases and
 * users inside an instance, and configuration groups. Imports only core, ../datastore.js and ../common.
 */
import type { Datastore } from '../datastore.js'
import { defineDatastore } from '../define-datastore.js'
import { discoverPostgresql } from './manifest.js'
import { postgresqlEngine } from './manager.js'
import { warmPostgresql } from './template.js'
import { postgresqlDatabases } from './databases.js'
import { postgresqlCharacterSets } from './character-sets.js'
import { postgresqlUsers } from './users.js'
import { postgresqlRoot } from './root.js'
import { postgresqlConfiguration } from './configuration.js'
import { postgresqlLogs } from './logs.js'
import { postgresqlReplication } from './replication.js'
import { postgresqlBackup } from './backup.js'

export const postgresql: Datastore = defineDatastore({
  discover: discoverPostgresql,
  osAccountName: 'postgres',
  engine: postgresqlEngine,
  // The catalog too, so the first configuration-parameters request needs no throwaway engine.
  warm: async (node) => {
    await warmPostgresql(node)
    await postgresqlConfiguration.catalog(node)
  },
  databases: postgresqlDatabases,
  characterSets: postgresqlCharacterSets,
  users: postgresqlUsers,
  root: postgresqlRoot,
  configuration: postgresqlConfiguration,
  logs: postgresqlLogs,
  replication: postgresqlReplication,
  backup: postgresqlBackup,
})
