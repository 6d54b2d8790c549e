/**
 * The bare side of bench/backup: each engine's own tools run by hand, as root, on a copy of the
 * same data a Coffer instance holds (the instance is stopped for the copy and started again):
 *   ceiling  — the tool's stream to /dev/null
 *   zstd     — the tool piped through plain `zstd -1 -q` to a file (not fsynced); for PostgreSQL,
 *              pgBackRest's own zst level 1 to a local repository
 *   restore  — that file unpacked (and prepared) into a new folder and a server started on it
 *              until it answers
 */
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, chownSync, closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import mysql from 'mysql2/promise'
import { Redis } from 'ioredis'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const uidOf = (user: string) => Number(execFileSync('id', ['-u', user]).toString())
const gidOf = (user: string) => Number(execFileSync('id', ['-g', user]).toString())

/** Runs a bash command line to its end; returns milliseconds. */
export async function timed(cmd: string): Promise<number> {
  const t = performance.now()
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd}: exit ${code}: ${err.slice(-2000)}`))))
  })
  return performance.now() - t
}

export function ownedBy(dir: string, user: string): string {
  mkdirSync(dir, { recursive: true })
  execFileSync('chown', ['-R', `${uidOf(user)}:${gidOf(user)}`, dir])
  return dir
}

export interface BareServer {
  /** The tool's stream to /dev/null; ms. */
  ceiling(): Promise<number>
  /** The tool piped through zstd -1 to `file`; ms. */
  zstd(file: string): Promise<number>
  stop(): Promise<void>
}

export interface BareEngine {
  /** Starts a server on `data` (a copy of an instance's data folder, owned by the engine's user). */
  start(data: string, port: number): Promise<BareServer>
  /** Unpacks `file` into `dir` and starts a server on it until it answers; stops it; ms to answering. */
  restore(file: string, dir: string, port: number): Promise<number>
  readonly what: { ceiling: string; zstd: string; restore: string }
}

async function until(ok: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen in time`)
    await sleep(5)
  }
}

const killPidFile = async (pidFile: string): Promise<void> => {
  const pid = Number(readFileSync(pidFile, 'utf8'))
  process.kill(pid, 'SIGTERM')
  await until(async () => {
    try {
      process.kill(pid, 0)
      return false
    } catch {
      return true
    }
  }, `pid ${pid} ending`)
}

// ---- MariaDB -----------------------------------------------------------------------------------

/** A folder beside `data` for the server's socket, pid file and log, owned by `user`. */
const runDir = (data: string, user: string): string => ownedBy(`${data}.run`, user)

function startMariadbd(data: string, port: number, grants: boolean): { sock: string; pidFile: string } {
  const run = runDir(data, 'mysql')
  const sock = join(run, 'sock')
  const pidFile = join(run, 'pid')
  spawn('runuser', ['-u', 'mysql', '--', '/usr/sbin/mariadbd', '--no-defaults', `--datadir=${data}`, `--socket=${sock}`, `--port=${port}`,
    '--bind-address=127.0.0.1', `--pid-file=${pidFile}`, ...(grants ? [] : ['--skip-grant-tables']), `--log-error=${join(run, 'err')}`], { stdio: 'ignore', detached: true }).unref()
  return { sock, pidFile }
}

const BENCH_USER = { user: 'bench', password: 'bench-Passw0rd' }

const mariadbAnswers = (sock: string, login: { user: string; password?: string } = { user: 'root' }) => async () => {
  try {
    const c = await mysql.createConnection({ socketPath: sock, ...login })
    await c.query('SELECT 1')
    await c.end()
    return true
  } catch {
    return false
  }
}

export const bareMariadbBackup: BareEngine = {
  what: {
    ceiling: 'mariadb-backup --backup --stream=mbstream > /dev/null',
    zstd: 'mariadb-backup ... | zstd -1 > file',
    restore: 'zstd -d | mbstream -x; mariadb-backup --prepare; mariadbd until a query answers',
  },
  async start(data, port) {
    // The copy's accounts are the instance's: without the grant tables, make one for the tool, then load them.
    let { sock, pidFile } = startMariadbd(data, port, false)
    await until(mariadbAnswers(sock), 'bare mariadbd answering')
    try {
      const c = await mysql.createConnection({ socketPath: sock, user: 'root' })
      await c.query('FLUSH PRIVILEGES')
      await c.query(`CREATE OR REPLACE USER ${BENCH_USER.user}@localhost IDENTIFIED BY '${BENCH_USER.password}'`)
      await c.query(`GRANT ALL ON *.* TO ${BENCH_USER.user}@localhost`)
      await c.end()
    } finally {
      // Also when the grants fail: a server left running here outlives the bench.
      await killPidFile(pidFile)
    }
    ;({ sock, pidFile } = startMariadbd(data, port, true))
    await until(mariadbAnswers(sock, BENCH_USER), 'bare mariadbd answering with its grants')
    const tool = (n: string) => `mariadb-backup --no-defaults --backup --stream=mbstream --user=${BENCH_USER.user} --password=${BENCH_USER.password} --socket=${sock} --datadir=${data} --target-dir=${data}.t${n} --extra-lsndir=${data}.t${n} --tmpdir=${data}.t${n}`
    let runs = 0
    const scratch = () => {
      const n = String(runs++)
      mkdirSync(`${data}.t${n}`, { recursive: true })
      return n
    }
    return {
      ceiling: () => timed(`${tool(scratch())} > /dev/null`),
      zstd: (file) => timed(`${tool(scratch())} | zstd -1 -q -c > ${file}`),
      stop: () => killPidFile(pidFile),
    }
  },
  async restore(file, dir, port) {
    ownedBy(dir, 'mysql')
    const t = performance.now()
    await timed(`zstd -d -q -c ${file} | runuser -u mysql -- mbstream -x -C ${dir}`)
    await timed(`runuser -u mysql -- mariadb-backup --no-defaults --prepare --target-dir=${dir}`)
    const { sock, pidFile } = startMariadbd(dir, port, false)
    await until(mariadbAnswers(sock), 'restored mariadbd answering')
    const ms = performance.now() - t
    await killPidFile(pidFile)
    return ms
  },
}

// ---- Redis -------------------------------------------------------------------------------------

async function redisAt(port: number): Promise<Redis> {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  r.on('error', () => {})
  await r.connect()
  return r
}

const redisAnswers = (port: number) => async () => {
  let r: Redis | undefined
  try {
    r = await redisAt(port)
    return (await r.ping()) === 'PONG' // a Redis still loading its file answers -LOADING
  } catch {
    return false
  } finally {
    r?.disconnect()
  }
}

function startRedis(dir: string, port: number, aof: boolean): string {
  const pidFile = join(runDir(dir, 'redis'), 'pid')
  spawn('runuser', ['-u', 'redis', '--', '/usr/bin/redis-server', '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', aof ? 'yes' : 'no', '--pidfile', pidFile, '--daemonize', 'no'], { stdio: 'ignore', detached: true }).unref()
  return pidFile
}

/** BGSAVE, and wait until that save is done; the RDB's path. */
async function bgsave(r: Redis, dir: string): Promise<string> {
  const before = Number(/rdb_saves:(\d+)/.exec(await r.info('persistence'))?.[1] ?? 0)
  await r.bgsave()
  await until(async () => {
    const info = await r.info('persistence')
    return /rdb_bgsave_in_progress:0/.test(info) && Number(/rdb_saves:(\d+)/.exec(info)?.[1] ?? 0) > before
  }, 'BGSAVE')
  return join(dir, 'dump.rdb')
}

export const bareRedisBackup: BareEngine = {
  what: {
    ceiling: 'BGSAVE, then cat dump.rdb > /dev/null',
    zstd: 'BGSAVE, then zstd -1 dump.rdb > file',
    restore: 'zstd -d > dump.rdb; redis-server until PING answers PONG (loaded)',
  },
  async start(data, port) {
    const pidFile = startRedis(data, port, true)
    await until(redisAnswers(port), 'bare redis answering')
    const r = await redisAt(port)
    // Loaded from the instance's append-only files; no rewrite of them may run beside a save.
    await r.config('SET', 'appendonly', 'no')
    await until(async () => /aof_rewrite_in_progress:0[\s\S]*rdb_bgsave_in_progress:0|rdb_bgsave_in_progress:0[\s\S]*aof_rewrite_in_progress:0/.test(await r.info('persistence')), 'no child running')
    return {
      async ceiling() {
        const t = performance.now()
        const rdb = await bgsave(r, data)
        await timed(`cat ${rdb} > /dev/null`)
        return performance.now() - t
      },
      async zstd(file) {
        const t = performance.now()
        const rdb = await bgsave(r, data)
        await timed(`zstd -1 -q -c ${rdb} > ${file}`)
        return performance.now() - t
      },
      async stop() {
        r.disconnect()
        await killPidFile(pidFile)
      },
    }
  },
  async restore(file, dir, port) {
    ownedBy(dir, 'redis')
    const t = performance.now()
    await timed(`zstd -d -q -f -o ${join(dir, 'dump.rdb')} ${file} && chown redis: ${join(dir, 'dump.rdb')}`)
    const pidFile = startRedis(dir, port, false)
    await until(redisAnswers(port), 'restored redis answering')
    const ms = performance.now() - t
    await killPidFile(pidFile)
    return ms
  },
}

export const chownTo = (dir: string, user: string): void => chownSync(dir, uidOf(user), gidOf(user))

// ---- PostgreSQL --------------------------------------------------------------------------------

const PG = '/usr/lib/postgresql/15/bin'
const STANZA = 'bench'
/** The copy's superuser: the instance's service account (it has no `postgres` role). */
const PG_SUPERUSER = 'coffer_admin'

/**
 * pgBackRest as the postgres account with no config file; options in its environment (as Coffer
 * gives them: one not valid for a command is ignored there), its repository in `repo`.
 */
const pgbackrest = (repo: string, pg: { data: string; run: string; port: number }, more: Record<string, string> = {}) => {
  const env = {
    STANZA, REPO1_PATH: repo, REPO1_BUNDLE: 'y', PG1_PATH: pg.data, PG1_SOCKET_PATH: pg.run, PG1_PORT: String(pg.port), PG1_USER: PG_SUPERUSER, PROCESS_MAX: '2',
    LOG_LEVEL_CONSOLE: 'off', LOG_LEVEL_FILE: 'off', LOG_LEVEL_STDERR: 'error', LOCK_PATH: pg.run, SPOOL_PATH: pg.run, ...more,
  }
  return `runuser -u postgres -- env ${Object.entries(env).map(([k, v]) => `PGBACKREST_${k}=${v}`).join(' ')} pgbackrest --no-config`
}
const ZST = { COMPRESS_TYPE: 'zst', COMPRESS_LEVEL: '1' }

function startPostgres(data: string, port: number, archive?: string): { run: string; ready: () => Promise<boolean>; stop: () => Promise<void> } {
  const run = runDir(data, 'postgres')
  writeFileSync(join(run, 'hba'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n')
  chownTo(join(run, 'hba'), 'postgres')
  const log = openSync(join(run, 'log'), 'a')
  spawn('runuser', ['-u', 'postgres', '--', `${PG}/postgres`, '-D', data, '-p', String(port), '-k', run, '-c', 'listen_addresses=127.0.0.1', '-c', `hba_file=${join(run, 'hba')}`,
    '-c', 'ssl=off', '-c', `archive_mode=${archive ? 'on' : 'off'}`, '-c', `archive_command=${archive ?? ''}`, '-c', 'logging_collector=off'],
  { stdio: ['ignore', log, log], detached: true }).unref()
  closeSync(log)
  const pidFile = join(data, 'postmaster.pid')
  return {
    run,
    ready: async () => {
      try {
        return readFileSync(pidFile, 'utf8').split('\n')[7]?.trim() === 'ready'
      } catch {
        return false
      }
    },
    async stop() {
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0])
      process.kill(pid, 'SIGINT')
      await until(async () => {
        try {
          process.kill(pid, 0)
          return false
        } catch {
          return true
        }
      }, 'postgres stopping')
    },
  }
}

export const barePostgresqlBackup: BareEngine = {
  what: {
    ceiling: 'pgbackrest backup --type=full --compress-type=none to a local posix repository (process-max 2, bundles)',
    zstd: 'pgbackrest backup --type=full --compress-type=zst --compress-level=1 to a local posix repository',
    restore: 'pgbackrest restore (its WAL from the repository) and postgres until ready',
  },
  async start(data, port) {
    const repos = { none: ownedBy(`${data}.repo-none`, 'postgres'), zst: ownedBy(`${data}.repo-zst`, 'postgres') }
    // Each backup archives into its own repository: the WAL a restore needs is beside its backup.
    const archiveOf = (repo: string, run: string) => `${pgbackrest(repo, { data, run, port }, ZST)} archive-push %p`.replace('runuser -u postgres -- ', '')
    let pg = startPostgres(data, port)
    await until(pg.ready, 'bare postgres ready')
    const run = pg.run
    await pg.stop()
    const backup = async (repo: string, compress: Record<string, string>) => {
      pg = startPostgres(data, port, archiveOf(repo, run))
      await until(pg.ready, 'bare postgres ready')
      await timed(`${pgbackrest(repo, { data, run, port })} stanza-create`)
      const ms = await timed(`${pgbackrest(repo, { data, run, port }, compress)} --type=full backup`)
      await pg.stop()
      return ms
    }
    return {
      ceiling: () => backup(repos.none, { COMPRESS_TYPE: 'none' }),
      zstd: async (out) => {
        const ms = await backup(repos.zst, ZST)
        writeFileSync(out, repos.zst) // the restore's repository
        return ms
      },
      stop: async () => undefined,
    }
  },
  async restore(out, dir, port) {
    const repo = readFileSync(out, 'utf8')
    ownedBy(dir, 'postgres')
    chmodSync(dir, 0o700)
    const run = runDir(dir, 'postgres')
    const t = performance.now()
    // On the command line: pgBackRest copies these into the restore_command it writes for archive-get.
    await timed(`${pgbackrest(repo, { data: dir, run, port })} --stanza=${STANZA} --repo1-path=${repo} --pg1-path=${dir} --log-level-file=off --log-level-console=off --lock-path=${run} restore`)
    const pg = startPostgres(dir, port)
    await until(pg.ready, 'restored postgres ready').catch((err: Error) => {
      throw new Error(`${err.message}: ${readFileSync(join(run, 'log'), 'utf8').slice(-2000)}`)
    })
    const ms = performance.now() - t
    await pg.stop()
    return ms
  },
}
