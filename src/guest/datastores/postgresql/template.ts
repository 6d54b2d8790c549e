/**
 * PostgreSQL's node template (common/template-cache.ts): a data folder made by initdb per node and
 * major version, copied into each new instance: copy + start takes ~0.4 s where initdb + start
 * takes ~1.0 s (shared/ENGINE-NOTES.md). Layout: `<cacheDir>/postgresql-<major>/`. The template's
 * service password is replaced in every instance when it is prepared.
 */
import { chown, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { DatastoreVersionInfo } from '../../../core/manifest.js'
import { toolFailed } from '../common/engine-errors.js'
import { removeTree, writeFileAtomic } from '../common/files.js'
import { runningAsRoot } from '../common/os-account.js'
import { runAs } from '../common/process.js'
import { newPassword } from '../common/secrets.js'
import { cachedTemplate, type EngineTemplate } from '../common/template-cache.js'
import type { OsAccount } from '../datastore.js'
import { binDir, SERVICE_USER } from './manifest.js'

/**
 * Returns the node's template for `version`, building it first when missing (as `account`).
 * Concurrent calls in this process share one build; a failed build is retried on the next call.
 */
export function ensureTemplate(cacheDir: string, version: DatastoreVersionInfo, account: OsAccount): Promise<EngineTemplate> {
  return cachedTemplate(cacheDir, {
    name: `postgresql-${version.name}`,
    engine: 'PostgreSQL',
    versionNumber: version.versionNumber,
    build: (tmp) => build(tmp, version, account),
  })
}

/** initdb into `<tmp>/data`; the engine's account may only pass through `tmp` to data/ and pwfile. */
async function build(tmp: string, version: DatastoreVersionInfo, account: OsAccount): Promise<string> {
  const data = join(tmp, 'data')
  const password = newPassword()
  const pwfile = join(tmp, 'pwfile')
  await writeFileAtomic(pwfile, `${password}\n`, { mode: 0o600, account })
  const initdb = async (locale: string): Promise<void> => {
    await removeTree(data)
    await mkdir(data, { mode: 0o700 })
    if (runningAsRoot()) await chown(data, account.uid, account.gid)
    // --no-sync: the template cache flushes the file system once the folder is complete.
    await runAs(join(binDir(version), 'initdb'), [
      '-D', data, '--no-sync', '-U', SERVICE_USER, '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', `--locale=${locale}`,
    ], account).catch((err: unknown) => {
      throw toolFailed(join(binDir(version), 'initdb'), err)
    })
  }
  try {
    await initdb('C.UTF-8')
  } catch {
    // Systems without a C.UTF-8 locale: plain C sorts the same way and accepts UTF8.
    await initdb('C')
  }
  await removeTree(pwfile)
  return password
}

/** Builds the template ahead of the first prepare (called when the node starts). */
export async function warmPostgresql(node: { readonly cacheDir: string; readonly account: OsAccount; readonly version: DatastoreVersionInfo }): Promise<void> {
  await ensureTemplate(node.cacheDir, node.version, node.account)
}
