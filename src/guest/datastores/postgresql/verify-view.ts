/**
 * pgBackRest 2.45's `verify` takes no `--set`: it reads every backup and all the WAL of the stanza,
 * so the check after each backup grew with the backups kept (0.6, 1.4, 2.5 and 2.8 s after the first
 * four of 1 GiB). On a posix repository (the fs store) a chain is verified on a view of the
 * repository holding only what its restore reads: the info files, the chain's backup folders and
 * the WAL from each backup's start to its stop, as hard links (nothing is copied, so a file damaged
 * in the repository is damaged in the view). The view sits under a dot-named folder of the store's
 * root, which no object key can name. An S3 repository is verified whole.
 */
import { randomBytes } from 'node:crypto'
import { link, mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { removeTree } from '../common/files.js'
import { type InfoBackup, type Repo, repoPrefix } from './pgbackrest.js'

const INFO_FILE = /^(backup|archive)\.info(\.copy)?$/
const HISTORY_FILE = /^[0-9A-F]{8}\.history$/

/** Runs `fn` on a repository holding only `chain` (the backups a restore of its last one reads). */
export async function withChainView<T>(repo: Repo, chain: readonly InfoBackup[], fn: (view: Repo) => Promise<T>): Promise<T> {
  const { settings } = repo
  if (settings.kind !== 'fs') return fn(repo)
  const root = join(settings.root, `.verify-${randomBytes(6).toString('hex')}`)
  const from = join(settings.root, repoPrefix(repo.stanza))
  const to = join(root, repoPrefix(repo.stanza))
  try {
    const backups = join('backup', repo.stanza)
    await linkFiles(join(from, backups), join(to, backups), (name) => INFO_FILE.test(name))
    for (const b of chain) await linkTree(join(from, backups, b.label), join(to, backups, b.label))
    const archive = join('archive', repo.stanza)
    await linkFiles(join(from, archive), join(to, archive), (name) => INFO_FILE.test(name))
    const needed = (name: string): boolean => chain.some((b) => isWalBetween(name.slice(0, 24), b.archive.start, b.archive.stop))
    for (const id of await folders(join(from, archive))) {
      await linkFiles(join(from, archive, id), join(to, archive, id), (name) => HISTORY_FILE.test(name))
      for (const group of await folders(join(from, archive, id))) {
        await linkFiles(join(from, archive, id, group), join(to, archive, id, group), needed)
      }
    }
    return await fn({ ...repo, settings: { ...settings, root } })
  } finally {
    await removeTree(root)
  }
}

/** A WAL segment name on the timeline of `start`, from `start` to `stop`. */
export function isWalBetween(segment: string, start: string, stop: string): boolean {
  if (!/^[0-9A-F]{24}$/.test(segment)) return false
  return segment.slice(0, 8) === start.slice(0, 8) && segment >= start && segment <= stop
}

async function folders(dir: string): Promise<string[]> {
  return (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => e.name)
}

/** Hard-links the files of `from` that `wanted` names into `to` (made), not descending. */
async function linkFiles(from: string, to: string, wanted: (name: string) => boolean): Promise<void> {
  await mkdir(to, { recursive: true, mode: 0o700 })
  for (const e of await readdir(from, { withFileTypes: true }).catch(() => [])) {
    if (e.isFile() && wanted(e.name)) await link(join(from, e.name), join(to, e.name))
  }
}

/** Hard-links every file under `from` into the same places under `to`. */
async function linkTree(from: string, to: string): Promise<void> {
  await linkFiles(from, to, () => true)
  for (const name of await folders(from)) await linkTree(join(from, name), join(to, name))
}
