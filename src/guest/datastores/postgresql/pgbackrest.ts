/**
 * Running pgBackRest (Debian's 2.45) for one instance's repository. pgBackRest runs as Coffer
 * (root on a node), never as the instance's account: the tenant may be a PostgreSQL superuser and
 * so run programs as that account (COPY ... FROM PROGRAM). Every option, the repository passphrase
 * and the S3 secret included, goes into the child's environment (PGBACKREST_*): no configuration
 * file holds a secret, nothing is on a command line, and /proc/<pid>/environ of a root process is
 * readable by root only.
 *
 * The repository is one per instance (the stanza is the instance's id), on the object store:
 * `<root>/pgbackrest/<id>` for the fs store, `/pgbackrest/<id>` in the bucket for S3.
 */
import { spawn } from 'node:child_process'
import { lstat, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CofferError } from '../../../core/errors.js'
import type { ObjectStore } from '../../../storage/object-store.js'
import type { BackupLocation } from '../backup.js'
import { removeTree } from '../common/files.js'
import { ENGINE_ENV } from '../common/process.js'
import { SERVICE_USER } from './manifest.js'

/** One instance's repository: where it is, its stanza, its passphrase (the archive key). */
export interface Repo {
  readonly settings: BackupLocation['settings']
  readonly store: ObjectStore
  readonly stanza: string
  readonly key: Buffer
}

/** The running engine pgBackRest reads (backup, archive-push) or the folder it restores into. */
export interface PgSide {
  readonly dataDir: string
  readonly socketDir?: string
  readonly port?: number
  /** The service account's password (libpq reads PGPASSWORD). */
  readonly password?: string
}

/** The repository's key prefix on the object store. */
export const repoPrefix = (stanza: string): string => `pgbackrest/${stanza}`

// Locks live where no instance account can plant a file or a link.
const LOCK_DIR = join(tmpdir(), `coffer-pgbackrest-${process.getuid?.() ?? 0}`)

async function lockDir(): Promise<string> {
  await mkdir(LOCK_DIR, { recursive: true, mode: 0o700 })
  const st = await lstat(LOCK_DIR)
  if (!st.isDirectory() || st.uid !== (process.getuid?.() ?? st.uid) || (st.mode & 0o077) !== 0) {
    throw new CofferError('INTERNAL', 'pgBackRest\'s lock folder is not a private folder of Coffer\'s; remove it.', { retryable: false, details: LOCK_DIR })
  }
  return LOCK_DIR
}

function repoEnv(repo: Repo): Record<string, string> {
  const s = repo.settings
  const common = {
    PGBACKREST_STANZA: repo.stanza,
    PGBACKREST_REPO1_CIPHER_TYPE: 'aes-256-cbc',
    PGBACKREST_REPO1_CIPHER_PASS: repo.key.toString('hex'),
    // Small files bundled into larger objects: a cluster's ~1,000 files are not ~1,000 S3 requests.
    PGBACKREST_REPO1_BUNDLE: 'y',
    // Coffer expires backups one by one; without this pgBackRest warns on every backup.
    PGBACKREST_REPO1_RETENTION_FULL: '9999999',
  }
  if (s.kind === 'fs') return { ...common, PGBACKREST_REPO1_TYPE: 'posix', PGBACKREST_REPO1_PATH: join(s.root, repoPrefix(repo.stanza)) }
  const url = new URL(s.endpoint)
  if (url.protocol !== 'https:') {
    throw new CofferError('VALIDATION', `pgBackRest reaches S3 only over HTTPS; set COFFER_S3_ENDPOINT to an https:// address (now ${url.protocol}//).`, { retryable: false })
  }
  return {
    ...common,
    PGBACKREST_REPO1_TYPE: 's3',
    PGBACKREST_REPO1_PATH: `/${repoPrefix(repo.stanza)}`,
    PGBACKREST_REPO1_S3_BUCKET: s.bucket,
    PGBACKREST_REPO1_S3_ENDPOINT: url.hostname,
    PGBACKREST_REPO1_STORAGE_PORT: url.port || '443',
    PGBACKREST_REPO1_S3_REGION: s.region,
    PGBACKREST_REPO1_S3_KEY: s.accessKeyId,
    PGBACKREST_REPO1_S3_KEY_SECRET: s.secretAccessKey,
    PGBACKREST_REPO1_S3_URI_STYLE: 'path',
    ...(s.caFile ? { PGBACKREST_REPO1_STORAGE_CA_FILE: s.caFile } : {}),
  }
}

function pgEnv(pg: PgSide): Record<string, string> {
  return {
    PGBACKREST_PG1_PATH: pg.dataDir,
    ...(pg.socketDir ? { PGBACKREST_PG1_SOCKET_PATH: pg.socketDir } : {}),
    ...(pg.port ? { PGBACKREST_PG1_PORT: String(pg.port) } : {}),
    PGBACKREST_PG1_USER: SERVICE_USER,
    PGBACKREST_PG1_DATABASE: 'postgres',
    ...(pg.password ? { PGPASSWORD: pg.password } : {}),
  }
}

export interface RunOptions {
  readonly pg?: PgSide
  readonly signal?: AbortSignal | undefined
  /** Called with each chunk of stdout as it arrives (nothing is kept then). */
  readonly onStdout?: (chunk: string) => void
}

/**
 * Runs `pgbackrest <command> <args>` and resolves with its stdout. A failure rejects with
 * BACKUP_TOOL_FAILED carrying pgBackRest's own error lines (which name no secret) in details; a
 * cancel kills its whole process group (pgBackRest forks local workers) and rejects with the abort.
 */
export async function pgbackrest(repo: Repo, command: string, args: readonly string[] = [], options: RunOptions = {}): Promise<string> {
  options.signal?.throwIfAborted()
  const env = {
    ...ENGINE_ENV,
    ...repoEnv(repo),
    ...(options.pg ? pgEnv(options.pg) : {}),
    PGBACKREST_LOCK_PATH: await lockDir(),
    PGBACKREST_LOG_LEVEL_FILE: 'off',
    PGBACKREST_LOG_LEVEL_CONSOLE: 'off',
    PGBACKREST_LOG_LEVEL_STDERR: 'error',
    PGBACKREST_COMPRESS_TYPE: 'zst',
    PGBACKREST_COMPRESS_LEVEL: '1',
    // Two cores on a node: two workers keep zstd and the copy busy without starving the engine.
    PGBACKREST_PROCESS_MAX: '2',
    // A failed file is not retried after 15 s: a corrupt object fails at once.
    PGBACKREST_JOB_RETRY: '0',
  }
  // /etc/pgbackrest.conf (Debian's) must not add to or override Coffer's options.
  // Options first, then the command and its parameters (WAL file names, paths).
  const options_ = args.filter((a) => a.startsWith('--'))
  const params = args.filter((a) => !a.startsWith('--'))
  const child = spawn('pgbackrest', ['--no-config', ...options_, command, ...params], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (options.onStdout ? options.onStdout(d) : (stdout += d)))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-16_384)))
  const killGroup = (sig: NodeJS.Signals): void => {
    try {
      if (child.pid) process.kill(-child.pid, sig)
    } catch {
      // already gone
    }
  }
  const onAbort = (): void => {
    killGroup('SIGTERM')
    setTimeout(() => killGroup('SIGKILL'), 3_000).unref()
  }
  options.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (c, sig) => resolve(c ?? (sig ? -1 : null)))
    })
    options.signal?.throwIfAborted()
    if (code !== 0) {
      const lines = stderr.trim().split('\n').slice(-15).join('\n')
      throw new CofferError('BACKUP_TOOL_FAILED', `pgbackrest ${command} failed (exit ${code}).`, { retryable: false, details: lines })
    }
    return stdout
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CofferError('BINARY_MISSING', 'pgbackrest is not installed on this node; install the pgbackrest package.', { retryable: false })
    }
    throw err
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
    killGroup('SIGKILL')
  }
}

/** Removes a folder of the repository (a backup cut short, or the whole repository). */
export async function removeRepoPath(repo: Repo, path: string): Promise<void> {
  const rel = `${repoPrefix(repo.stanza)}${path ? `/${path}` : ''}`
  if (repo.settings.kind === 'fs') await removeTree(join(repo.settings.root, rel))
  else await repo.store.deletePrefix(`${rel}/`)
}

/** One backup as `pgbackrest info --output=json` describes it. */
export interface InfoBackup {
  readonly label: string
  readonly type: 'full' | 'diff' | 'incr'
  readonly prior: string | null
  readonly reference: readonly string[] | null
  readonly error?: boolean
  readonly archive: { readonly start: string; readonly stop: string }
  readonly lsn: { readonly start: string; readonly stop: string }
  readonly timestamp: { readonly start: number; readonly stop: number }
  readonly info: { readonly size: number; readonly repository: { readonly size: number } }
}

export interface StanzaInfo {
  readonly backups: readonly InfoBackup[]
  /** Held while a backup runs. */
  readonly lock?: { readonly held: boolean }
}

/** The stanza's backups, oldest first (none when the stanza does not exist yet). */
export async function stanzaInfo(repo: Repo, signal?: AbortSignal): Promise<StanzaInfo> {
  const out = await pgbackrest(repo, 'info', ['--output=json'], { signal })
  const parsed = JSON.parse(out) as { backup?: InfoBackup[]; status?: { lock?: { backup?: StanzaInfo['lock'] } } }[]
  const stanza = parsed[0]
  return { backups: stanza?.backup ?? [], ...(stanza?.status?.lock?.backup ? { lock: stanza.status.lock.backup } : {}) }
}

/** True when pgBackRest's failure says stored bytes are not what it wrote (a tampered or truncated file). */
export function looksCorrupt(err: unknown): boolean {
  const text = `${(err as { details?: unknown })?.details ?? ''}`
  return /checksum|corrupt|zst error|FormatError|CryptoError|decrypt|unexpected eof|size.*(does not match|mismatch)|invalid|unable to (open|read) missing file/i.test(text)
}

/** OBJECT_CORRUPT naming the backup, with pgBackRest's words for the administrator. */
export function backupCorrupt(backupId: string, err: unknown): CofferError {
  return new CofferError('OBJECT_CORRUPT', `Backup ${backupId} is damaged: its stored files do not match what pgBackRest wrote. Restore from another backup.`, {
    retryable: false,
    cause: err,
    details: (err as { details?: string })?.details,
  })
}
