import type { Migration, MigrationProvider } from 'kysely'
import * as initial from './0001-initial.js'
import * as defaultFlavors from './0002-default-flavors.js'
import * as rootHistory from './0003-root-history.js'
import * as configurations from './0004-configurations.js'
import * as spareBuild from './0005-spare-build.js'
import * as nodes from './0006-nodes.js'
import * as faultOperation from './0007-fault-operation.js'
import * as quotas from './0008-quotas.js'
import * as optionalDefaultProject from './0009-optional-default-project.js'
import * as datastoreUse from './0010-datastore-use.js'
import * as instanceAddresses from './0011-instance-addresses.js'
import * as instanceActions from './0012-instance-actions.js'
import * as volumeLimits from './0013-volume-limits.js'
import * as backups from './0014-backups.js'
import * as backupSchedules from './0015-backup-schedules.js'
import * as replication from './0016-replication.js'
import * as instanceEvents from './0017-instance-events.js'
import * as writerEndpoints from './0018-writer-endpoints.js'

/** Migrations in order; compiled in, so the binary never looks for files at run time. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async (): Promise<Record<string, Migration>> => ({
    '0001-initial': initial,
    '0002-default-flavors': defaultFlavors,
    '0003-root-history': rootHistory,
    '0004-configurations': configurations,
    '0005-spare-build': spareBuild,
    '0006-nodes': nodes,
    '0007-fault-operation': faultOperation,
    '0008-quotas': quotas,
    '0009-optional-default-project': optionalDefaultProject,
    '0010-datastore-use': datastoreUse,
    '0011-instance-addresses': instanceAddresses,
    '0012-instance-actions': instanceActions,
    '0013-volume-limits': volumeLimits,
    '0014-backups': backups,
    '0015-backup-schedules': backupSchedules,
    '0016-replication': replication,
    '0017-instance-events': instanceEvents,
    '0018-writer-endpoints': writerEndpoints,
  }),
}
