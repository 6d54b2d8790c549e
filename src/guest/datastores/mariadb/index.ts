/**
 * MariaDB on a node: discovery of the installed server, the engine's lifecycle, and databases,
 * users and root inside an instance, configuration groups, backups (mariadb-backup, shipped
 * binary logs) and GTID replication. The parts are written for the MySQL family as a whole; the
 * MySQL datastore (../mysql) composes the same parts with its own server description (without
 * backups or replication). Imports
 * only core, ../datastore.js and ../common.
 */
import type { Datastore } from '../datastore.js'
import { defineDatastore } from '../define-datastore.js'
import { mariadbBackup } from './backup.js'
import { mysqlFamilyCharacterSets } from './character-sets.js'
import { MARIADB_ONLY_SETTINGS } from './config.js'
import { mariadbConfiguration } from './configuration.js'
import { discoverMariadb, MARIADB_SERVER_BINARY, type MysqlFamilyServer } from './manifest.js'
import { mysqlFamilyLogs } from './logs.js'
import { mysqlFamilyEngine } from './manager.js'
import { mariadbReplication } from './replication.js'
import { mariadbRoot } from './root.js'
import { installMariadb, warmTemplate } from './template.js'
import { mariadbDatabases, mariadbUsers } from './users.js'

/** MariaDB's server as the family code runs it. */
export const mariadbServer: MysqlFamilyServer = {
  name: 'mariadb',
  serverBinary: MARIADB_SERVER_BINARY,
  processName: 'mariadbd',
  initialise: installMariadb,
  engineSettings: MARIADB_ONLY_SETTINGS,
}

const configuration = mariadbConfiguration(mariadbServer)
const engine = mysqlFamilyEngine(mariadbServer)

/** The `mariadb` datastore; engines run as Debian's `mysql` account unless the node gives each instance its own. */
export const mariadb: Datastore = defineDatastore({
  discover: discoverMariadb,
  osAccountName: 'mysql',
  engine,
  // The catalog too, so the first configuration-parameters request needs no throwaway server.
  warm: async (node) => {
    await warmTemplate(mariadbServer)(node)
    await configuration.catalog(node)
  },
  databases: mariadbDatabases,
  characterSets: mysqlFamilyCharacterSets(mariadbServer),
  users: mariadbUsers,
  root: mariadbRoot,
  configuration,
  logs: mysqlFamilyLogs(mariadbServer),
  backup: mariadbBackup(mariadbServer, engine),
  replication: mariadbReplication(mariadbServer, engine),
})
