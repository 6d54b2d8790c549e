/**
 * Redis on a node: discovery of the installed server, the engine's lifecycle, ACL users and root
 * inside an instance, configuration groups, guest logs, RDB backups and replica sets (REPLICAOF).
 * No databases: Redis's numbered databases are not Trove databases. Imports only core, ../datastore.js and ../common.
 */
import type { Datastore } from '../datastore.js'
import { defineDatastore } from '../define-datastore.js'
import { redisBackup } from './backup.js'
import { redisConfiguration } from './configuration.js'
import { redisLogs } from './logs.js'
import { redisEngine } from './manager.js'
import { discoverRedis } from './manifest.js'
import { redisReplication, refreshReplicaUsers } from './replication.js'
import { redisRoot } from './root.js'
import { redisUsers } from './users.js'

export const redis: Datastore = defineDatastore({
  discover: discoverRedis,
  osAccountName: 'redis',
  // A replica stopped while its source's users changed takes them when it starts again.
  engine: {
    ...redisEngine,
    start: async (ctx) => {
      await redisEngine.start(ctx)
      await refreshReplicaUsers(ctx)
    },
  },
  users: redisUsers,
  root: redisRoot,
  configuration: redisConfiguration,
  logs: redisLogs,
  backup: redisBackup,
  replication: redisReplication,
})
