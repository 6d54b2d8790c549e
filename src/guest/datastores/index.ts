/**
 * Every datastore this build knows. The node offers those whose engines it finds installed; the
 * control plane never imports this file.
 */
import type { Datastore } from './datastore.js'
import { mariadb } from './mariadb/index.js'
import { mysql } from './mysql/index.js'
import { postgresql } from './postgresql/index.js'
import { redis } from './redis/index.js'

export const datastores: Readonly<Record<string, Datastore>> = { postgresql, mariadb, mysql, redis }
