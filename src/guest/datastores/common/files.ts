/** File helpers shared by the engines: atomic writes, tree copies that keep owners, removal. */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { open, rename, rm, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { promisify } from 'node:util'
import type { OsAccount } from '../datastore.js'
import { runningAsRoot } from './os-account.js'

const run = promisify(execFile)

export interface WriteOptions {
  /** File mode, applied regardless of the umask. Default 0600. */
  readonly mode?: number
  /** Owner of the file; applied only when Coffer runs as root (otherwise the file is already ours). */
  readonly account?: OsAccount
  /** fsync the file and its folder, so the new content survives a power loss. Default false. */
  readonly durable?: boolean
}

/**
 * Replaces `path` with `data` atomically: readers see the old or the new content, never a part.
 * Writes a temporary file beside it, then renames it over.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: WriteOptions = {}): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  const fh = await open(tmp, 'wx', 0o600)
  try {
    await fh.chmod(options.mode ?? 0o600)
    if (options.account && runningAsRoot()) await fh.chown(options.account.uid, options.account.gid)
    await fh.writeFile(data)
    if (options.durable) await fh.sync()
  } catch (err) {
    await fh.close()
    await unlink(tmp).catch(() => undefined)
    throw err
  }
  await fh.close()
  try {
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => undefined)
    throw err
  }
  if (options.durable) await syncDir(dirname(path))
}

/** fsyncs a folder, making renames and creations inside it durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/**
 * Copies the tree `src` to `dst` (which must not exist) keeping owners, modes and times (`cp -a`).
 * Owners are kept only when Coffer runs as root; otherwise the copy belongs to the current user.
 */
export async function copyTree(src: string, dst: string): Promise<void> {
  await run('cp', ['-a', '--', src, dst])
}

/** Gives the whole tree to `account` (`chown -R`); a no-op unless Coffer runs as root. */
export async function chownTree(path: string, account: OsAccount): Promise<void> {
  if (!runningAsRoot()) return
  await run('chown', ['-R', '--no-dereference', `${account.uid}:${account.gid}`, '--', path])
}

/**
 * Flushes the file system holding `path` to disk (`sync -f`, i.e. syncfs). Used after copying a
 * tree whose files were written without fsync, before recording that the copy is complete.
 */
export async function syncFileSystem(path: string): Promise<void> {
  await run('sync', ['-f', path])
}

/** Removes a tree; no error when it is already gone. */
export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true })
}
