/**
 * Where published guest logs are kept: objects under keys shaped like Trove's
 * (`<instance>/<datastore>-<log>/log-<time>` and `<instance>/<datastore>-<log>_metafile`). The
 * filesystem store keeps them in `<home>/logs/`; once backups bring an ObjectStore, a store backed
 * by it takes this one's place behind the same interface.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import { BadRequest } from '../core/errors.js'
import { writeFileAtomic } from '../guest/datastores/common/files.js'

/** Published log objects, by key. */
export interface LogStore {
  /** Writes (or replaces) an object. */
  put(key: string, body: string): Promise<void>
  /** An object's text; undefined when there is none. */
  get(key: string): Promise<string | undefined>
  /** Keys that start with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>
  /** Removes an object; no-op when absent. */
  delete(key: string): Promise<void>
  /** Removes everything of an instance (its delete). */
  deleteInstance(instanceId: string): Promise<void>
}

// Keys are made by the node from ids and log names, never from a path a client sent; the check
// keeps a bug from reaching outside the store.
const KEY = /^[A-Za-z0-9_.:-]+(\/[A-Za-z0-9_.:-]+)*\/?$/
const checked = (key: string): string => {
  if (!KEY.test(key) || key.split('/').some((p) => p === '.' || p === '..')) throw new BadRequest(`Not a log object key: ${JSON.stringify(key)}`)
  return key
}

/** Objects as files under `root` (0700 folders, 0600 files: only Coffer reads them). */
export class FsLogStore implements LogStore {
  readonly #root: string

  constructor(root: string) {
    this.#root = root
  }

  async put(key: string, body: string): Promise<void> {
    const path = join(this.#root, checked(key))
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    await writeFileAtomic(path, body, { mode: 0o600, durable: true })
  }

  async get(key: string): Promise<string | undefined> {
    return readFile(join(this.#root, checked(key)), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'EISDIR') return undefined
      throw err
    })
  }

  async list(prefix: string): Promise<string[]> {
    // The folder that holds the prefix; its files are filtered by the rest.
    const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : ''
    const dir = join(this.#root, folder === '' ? '' : checked(folder))
    const names = await readdir(dir, { recursive: true, withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return []
      throw err
    })
    return names
      .filter((d) => d.isFile() && !d.name.startsWith('.'))
      .map((d) => relative(this.#root, join(d.parentPath, d.name)).split(sep).join('/'))
      .filter((k) => k.startsWith(prefix))
      .sort()
  }

  async delete(key: string): Promise<void> {
    await rm(join(this.#root, checked(key)), { force: true })
  }

  async deleteInstance(instanceId: string): Promise<void> {
    await rm(join(this.#root, checked(instanceId)), { recursive: true, force: true })
  }
}
