/**
 * MySQL on a node: MariaDB's parts (../mariadb) composed with MySQL's own server description, no
 * class hierarchy. Offered only where a real MySQL server is installed (see manifest.ts).
 */
import type { Datastore } from '../datastore.js'
import { defineDatastore } from '../define-datastore.js'
import { mysqlFamilyCharacterSets } from '../mariadb/character-sets.js'
import type { MysqlFamilyServer } from '../mariadb/manifest.js'
import { mysqlFamilyEngine } from '../mariadb/manager.js'
import { mariadbRoot } from '../mariadb/root.js'
import { warmTemplate } from '../mariadb/template.js'
import { mariadbDatabases, mariadbUsers } from '../mariadb/users.js'
import { discoverMysql, initialiseMysql, MYSQL_ONLY_SETTINGS, MYSQL_SERVER_BINARY } from './manifest.js'

/** MySQL's server as the family code runs it. */
export const mysqlServer: MysqlFamilyServer = {
  name: 'mysql',
  serverBinary: MYSQL_SERVER_BINARY,
  processName: 'mysqld',
  initialise: initialiseMysql,
  engineSettings: MYSQL_ONLY_SETTINGS,
}

/** The `mysql` datastore: offers nothing on nodes without a real MySQL server. */
export const mysql: Datastore = defineDatastore({
  discover: discoverMysql,
  osAccountName: 'mysql',
  engine: mysqlFamilyEngine(mysqlServer),
  warm: warmTemplate(mysqlServer),
  databases: mariadbDatabases,
  characterSets: mysqlFamilyCharacterSets(mysqlServer),
  users: mariadbUsers,
  root: mariadbRoot,
  // No configuration groups: MariaDB's reads SYSTEM_VARIABLES (../mariadb/configuration.ts), which MySQL lacks.
})
