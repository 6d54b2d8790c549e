/**
 * Where a Redis backup's pieces go: its two objects under the backup's prefix, and the append-only
 * folder a restore lays the snapshot into. Ids only in object keys: no user or key names.
 */

/** The RDB snapshot, compressed and sealed. */
export const rdbObject = (prefix: string): string => `${prefix}dump.rdb.zst.gcm`

/** The ACL users (ACL LIST lines, Coffer's own two left out), compressed and sealed. */
export const aclObject = (prefix: string): string => `${prefix}users.acl.zst.gcm`

/**
 * Redis 7's multi-part AOF, with Redis's default names (a configuration group cannot change them:
 * parameters.ts). With `appendonly yes` Redis loads only this folder and ignores any dump.rdb, so
 * a restore makes the snapshot the AOF's base file: Redis loads it and appends after it.
 */
export const AOF_DIR = 'appendonlydir'
export const AOF_BASE = 'appendonly.aof.1.base.rdb'
export const AOF_MANIFEST = 'appendonly.aof.manifest'
export const aofManifest = (): string => `file ${AOF_BASE} seq 1 type b\n`
