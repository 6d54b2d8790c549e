/**
 * MariaDB GTID replication as the node drives it (../replication.ts): a source with its binary log
 * (always on: config.ts), replicas seeded from a mariadb-backup stream of it (snapshot.ts on the
 * source's node, seed.ts on the replica's) that follow it by GTID, read-only for every client
 * (root has no READ_ONLY ADMIN: root.ts), and semi-synchronous commits when asked.
 *
 * What Coffer keeps: the role in guestDir (replication-role.ts: read_only and semi-sync settings in
 * my.cnf at every start), the replication account's password in guestDir
 * (replication-account.ts). What the engine keeps: whom a replica follows and as whom (master.info
 * on the volume) and how far it got (mysql.gtid_slave_pos).
 *
 * Coffer's own statements on a replica are never logged (sql_log_bin = 0): a transaction of the
 * replica's own would be one its source never had, and gtid_strict_mode stops replication at the
 * first one the other way round.
 */
import type { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type { RowDataPacket } from 'mysql2/promise'
import { CofferError } from '../../../core/errors.js'
import type { EngineLifecycle, InstanceContext } from '../datastore.js'
import type { ReplicationAdmin, ReplicationSource, ReplicationStatus } from '../replication.js'
import type { MysqlClient } from './client.js'
import type { MysqlFamilyServer } from './manifest.js'
import { changeMaster, prepareSource, saveCredentials, savedCredentials } from './replication-account.js'
import { readRole, SEMI_SYNC_TIMEOUT_MS, writeRole } from './replication-role.js'
import { seedReplica } from './seed.js'
import { withService } from './service-account.js'
import { snapshot } from './snapshot.js'
import { killSessions } from './users.js'

/** The part of SHOW SLAVE STATUS read here. */
type SlaveStatus = RowDataPacket & {
  Master_Host: string
  Master_Port: number | string
  Master_User: string
  Master_Log_File: string
  Read_Master_Log_Pos: number | string
  Relay_Master_Log_File: string
  Exec_Master_Log_Pos: number | string
  Slave_IO_Running: string
  Slave_SQL_Running: string
  Seconds_Behind_Master: number | string | null
  Last_IO_Errno: number | string
  Last_IO_Error: string
  Last_SQL_Errno: number | string
  Last_SQL_Error: string
  Gtid_IO_Pos: string
}

/** How long follow waits to see the source accept (or refuse) the replica's position; past it, the source is taken as unreachable for now. */
const ACCEPT_WAIT_MS = 10_000
/** How long promote waits for a replica to apply what it has received before it stops following. */
const APPLY_WAIT_SECONDS = 60
/** The source's answer to a replica asking for a position it cannot serve (the engine's ER_MASTER_FATAL_ERROR_READING_BINLOG). */
const CANNOT_SERVE_POSITION = 1236
/** The source refused the replication account's login (ER_ACCESS_DENIED_ERROR). */
const ACCESS_DENIED = 1045

async function slaveStatus(c: MysqlClient): Promise<SlaveStatus | undefined> {
  const [rows] = await c.query<SlaveStatus[]>('SHOW SLAVE STATUS')
  return rows[0]
}

async function globalOf(c: MysqlClient, expression: string): Promise<string> {
  const [rows] = await c.query<(RowDataPacket & { v: unknown })[]>(`SELECT ${expression} AS v`)
  return String(rows[0]?.v ?? '')
}

/**
 * read_only for every client; when it was writable, also ends the sessions of root, which may
 * predate its loss of READ_ONLY ADMIN (a session keeps the privileges it logged in with). Setting
 * read_only waits for commits under way, so nothing is written after it returns.
 */
async function makeReadOnly(c: MysqlClient): Promise<void> {
  if (Number(await globalOf(c, '@@GLOBAL.read_only'))) return
  await c.query('SET GLOBAL read_only = ON')
  await killSessions(c, { user: 'root' })
}

async function setSemiSync(c: MysqlClient, on: boolean): Promise<void> {
  if (on) {
    await c.query('SET GLOBAL rpl_semi_sync_master_timeout = ?', [SEMI_SYNC_TIMEOUT_MS])
    await c.query('SET GLOBAL rpl_semi_sync_master_wait_no_slave = ON')
    await c.query("SET GLOBAL rpl_semi_sync_master_wait_point = 'AFTER_SYNC'")
  }
  await c.query(`SET GLOBAL rpl_semi_sync_master_enabled = ${on ? 'ON' : 'OFF'}`)
}

const conflict = (ctx: InstanceContext, message: string): CofferError =>
  new CofferError('ENGINE_STATE_CONFLICT', `Instance ${ctx.instanceId} cannot follow its new source without losing its own data: ${message}`, { retryable: false })

/**
 * After START SLAVE: waits until the source has accepted the replica's GTID position (the source's
 * first rotate event names its log file) or refused it (the IO thread stops with 1236: the
 * position is not in the source's binary log, i.e. this instance has transactions the source
 * lacks, or the source purged what it would need). Refused: stops following, stays read-only, and
 * rejects. A source that does not answer within the wait is left to the IO thread's retries.
 */
async function awaitAccepted(ctx: InstanceContext, c: MysqlClient): Promise<void> {
  const deadline = Date.now() + ACCEPT_WAIT_MS
  for (;;) {
    const st = await slaveStatus(c)
    if (!st) throw conflict(ctx, 'its replica threads are not configured')
    const ioError = Number(st.Last_IO_Errno)
    const sqlError = Number(st.Last_SQL_Errno)
    if (ioError === ACCESS_DENIED) {
      // Left as it is: the IO thread keeps trying, and follow with the right password repoints it.
      throw new CofferError('ENGINE_AUTH_FAILED', `The source refused instance ${ctx.instanceId}'s replication login: ${st.Last_IO_Error}`, { retryable: false })
    }
    if (ioError === CANNOT_SERVE_POSITION || sqlError !== 0) {
      await c.query('STOP SLAVE')
      await c.query('RESET SLAVE ALL')
      await writeRole(ctx, { role: 'fenced' })
      throw conflict(ctx, `${ioError ? st.Last_IO_Error : st.Last_SQL_Error} (left read-only and following nobody; seed it again as a replica to rejoin)`)
    }
    if (st.Slave_IO_Running === 'Yes' && st.Master_Log_File !== '') return
    if (Date.now() > deadline) return
    await sleep(50)
  }
}

async function follow(engine: EngineLifecycle, ctx: InstanceContext, source: ReplicationSource): Promise<void> {
  // First: whatever starts the engine from now on starts it read-only.
  await writeRole(ctx, { role: 'replica' })
  const previous = await savedCredentials(ctx)
  await saveCredentials(ctx, source)
  await engine.start(ctx)
  await withService(ctx, async (c) => {
    await makeReadOnly(c)
    await setSemiSync(c, false)
    const st = await slaveStatus(c)
    const same = st && st.Master_Host === source.host && Number(st.Master_Port) === source.port && st.Master_User === source.user && previous?.password === source.password
    if (same && st.Slave_IO_Running === 'Yes' && st.Slave_SQL_Running === 'Yes') return
    if (st) {
      await c.query('STOP SLAVE')
      // Forgets the old source's log coordinates and relay logs; the GTID position stays.
      await c.query('RESET SLAVE')
    }
    // An old source's own transactions count as replayed: the new source must have them all.
    await changeMaster(c, source, true)
    await c.query('START SLAVE')
    await awaitAccepted(ctx, c)
  })
}

/**
 * Stops following: no more events are received, those received are applied (semi-sync
 * acknowledges what a replica has received, not applied), then the replica threads are removed.
 */
async function stopFollowing(ctx: InstanceContext, c: MysqlClient): Promise<void> {
  if (!(await slaveStatus(c))) return
  await c.query('STOP SLAVE IO_THREAD')
  const st = await slaveStatus(c)
  if (st?.Gtid_IO_Pos && Number(st.Last_SQL_Errno) === 0) {
    if (st.Slave_SQL_Running !== 'Yes') await c.query('START SLAVE SQL_THREAD')
    const [rows] = await c.query<(RowDataPacket & { r: number | string })[]>('SELECT MASTER_GTID_WAIT(?, ?) AS r', [st.Gtid_IO_Pos, APPLY_WAIT_SECONDS])
    if (Number(rows[0]?.r) !== 0) {
      throw new CofferError('ENGINE_STATE_CONFLICT', `Instance ${ctx.instanceId} did not apply what it received from its source (${st.Gtid_IO_Pos}) within ${APPLY_WAIT_SECONDS} s; it still follows it.`, { retryable: true })
    }
  } else if (st && Number(st.Last_SQL_Errno) !== 0) {
    throw new CofferError('ENGINE_STATE_CONFLICT', `Instance ${ctx.instanceId} cannot apply what it received from its source: ${st.Last_SQL_Error}`, { retryable: false })
  }
  await c.query('STOP SLAVE')
  await c.query('RESET SLAVE ALL')
}

async function status(ctx: InstanceContext): Promise<ReplicationStatus> {
  const { role } = await readRole(ctx)
  try {
    return await withService(ctx, async (c): Promise<ReplicationStatus> => {
      const st = await slaveStatus(c)
      if (st) {
        const connected = st.Slave_IO_Running === 'Yes' && st.Slave_SQL_Running === 'Yes'
        const lagSeconds = st.Seconds_Behind_Master === null ? undefined : Number(st.Seconds_Behind_Master)
        // Received but not applied, while both are in one source log file (bytes of that file).
        const lagBytes = st.Master_Log_File !== '' && st.Master_Log_File === st.Relay_Master_Log_File
          ? Math.max(0, Number(st.Read_Master_Log_Pos) - Number(st.Exec_Master_Log_Pos))
          : undefined
        return {
          role: 'replica', connected,
          ...(lagBytes !== undefined ? { lagBytes } : {}),
          ...(lagSeconds !== undefined ? { lagSeconds } : {}),
          position: await globalOf(c, '@@GLOBAL.gtid_slave_pos'),
        }
      }
      const position = await globalOf(c, '@@GLOBAL.gtid_binlog_pos')
      if (Number(await globalOf(c, '@@GLOBAL.read_only'))) return { role: 'fenced', position }
      const replicas = Number(await globalOf(c, "(SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND IN ('Binlog Dump', 'Binlog Dump GTID'))"))
      const [semi] = await c.query<(RowDataPacket & { Value: string })[]>("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'")
      const on = Number(await globalOf(c, '@@GLOBAL.rpl_semi_sync_master_enabled'))
      return { role: 'source', position, replicas, synchronous: on ? Number(semi[0]?.Value ?? 0) : 0 }
    })
  } catch {
    return role === 'source' ? { role } : { role, connected: false }
  }
}

/** MariaDB's replication part: its seed needs the source's half, `snapshot`, which the seam leaves optional. */
export interface MariadbReplication extends ReplicationAdmin {
  /** On the source's node: a copy of the running source for `seed` (snapshot.ts). */
  snapshot(ctx: InstanceContext): Promise<Readable>
  /** `snapshot`: the source's copy, piped from the source's node; without it the seed is refused. */
  seed(ctx: InstanceContext, source: ReplicationSource, snapshot?: Readable): Promise<void>
}

/** The replication part for `server` (MariaDB's), whose engine `engine` runs. */
export function mariadbReplication(server: MysqlFamilyServer, engine: EngineLifecycle): MariadbReplication {
  return {
    prepareSource,
    snapshot,
    seed: seedReplica(server, engine),
    follow: (ctx, source) => follow(engine, ctx, source),

    async promote(ctx) {
      await withService(ctx, async (c) => {
        await stopFollowing(ctx, c)
        await c.query('SET GLOBAL read_only = OFF')
      })
      // After: a crash before this restarts it read-only, and promote is done again.
      const { synchronous } = await readRole(ctx)
      await writeRole(ctx, { role: 'source', ...(synchronous ? { synchronous } : {}) })
    },

    async fence(ctx) {
      // First: a start after this (a crash, a node restart) is read-only too.
      await writeRole(ctx, { role: 'fenced' })
      return withService(ctx, async (c) => {
        await makeReadOnly(c)
        // Its binary log holds everything it has (log_slave_updates), which a replica's gtid_slave_pos must reach.
        return { position: await globalOf(c, '@@GLOBAL.gtid_binlog_pos') }
      })
    },

    caughtUp: (ctx, position) =>
      withService(ctx, async (c) => {
        // 0 once gtid_slave_pos has reached it; -1 at once otherwise.
        const [rows] = await c.query<(RowDataPacket & { r: number | string })[]>('SELECT MASTER_GTID_WAIT(?, 0) AS r', [position])
        return Number(rows[0]?.r) === 0
      }),

    status,

    async setSynchronous(ctx, replicas) {
      const { role } = await readRole(ctx)
      await writeRole(ctx, { role, synchronous: [...replicas] })
      await withService(ctx, (c) => setSemiSync(c, replicas.length > 0))
    },
  }
}
