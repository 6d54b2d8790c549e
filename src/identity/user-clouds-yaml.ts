/**
 * Puts the `coffer` cloud into the clouds.yaml that `openstack` reads by itself
 * (`~/.config/openstack/clouds.yaml`, or under `$XDG_CONFIG_HOME`), so the quick start's
 * `openstack --os-cloud coffer ...` works with no extra step. Other clouds, and comments, are kept.
 *
 * A `coffer` cloud already there is replaced only when it is this server's: it points at this
 * server's URL, or Coffer wrote it for this home, or Coffer wrote it for a home that no longer
 * exists. Any other `coffer` cloud (another Coffer server, one the user wrote) is left alone and
 * the caller says how to reach this one instead. Coffer marks what it writes with `coffer_home`,
 * a key openstack ignores. The file is written 0600 (it holds a password), its folder made 0700.
 */
import { existsSync } from 'node:fs'
import { chmod, mkdir, readFile, realpath, rename, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, isAbsolute, join } from 'node:path'
import { isMap, parseDocument } from 'yaml'

export const CLOUD_NAME = 'coffer'

export type MergeOutcome =
  /** The file or the `coffer` cloud in it was written. */
  | 'written'
  /** It already held exactly this cloud. */
  | 'unchanged'
  /** It holds another `coffer` cloud, or is not YAML Coffer can edit: left as it was. */
  | 'kept'

export interface MergeResult {
  readonly file: string
  readonly outcome: MergeOutcome
  /** Why the file was kept. */
  readonly reason?: string
}

/** Where openstacksdk looks first for a user's clouds.yaml (appdirs' user config folder). */
export function userCloudsYamlPath(env: NodeJS.ProcessEnv = process.env): string {
  const config = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(homedir(), '.config')
  return join(config, 'openstack', 'clouds.yaml')
}

/** `cloud` is the entry as written to the home's clouds.yaml; `home` is this server's home. */
export async function mergeCofferCloud(file: string, cloud: Record<string, unknown>, home: string): Promise<MergeResult> {
  const entry = { ...cloud, coffer_home: home }
  if (!existsSync(file)) {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 })
    await writePrivate(file, parseDocument('clouds: {}\n').toString(), entry)
    return { file, outcome: 'written' }
  }
  const text = await readFile(file, 'utf8')
  const doc = parseDocument(text)
  if (doc.errors.length > 0) return { file, outcome: 'kept', reason: `it is not valid YAML (${doc.errors[0]?.message.split('\n')[0] ?? ''})` }
  const clouds = doc.get('clouds')
  if (doc.contents !== null && !isMap(doc.contents)) return { file, outcome: 'kept', reason: 'it is not a YAML mapping' }
  if (clouds !== undefined && clouds !== null && !isMap(clouds)) return { file, outcome: 'kept', reason: "its 'clouds' is not a mapping" }
  const existing = doc.getIn(['clouds', CLOUD_NAME], false) as unknown
  if (existing !== undefined) {
    const old = (doc.toJS() as { clouds: Record<string, any> }).clouds[CLOUD_NAME]
    if (JSON.stringify(old) === JSON.stringify(entry)) return { file, outcome: 'unchanged' }
    if (!isOurs(old, entry, home)) {
      return { file, outcome: 'kept', reason: `its '${CLOUD_NAME}' cloud points at ${String(old?.auth?.auth_url ?? 'another server')}, not this server` }
    }
  }
  await writePrivate(file, text, entry)
  return { file, outcome: 'written' }
}

function isOurs(old: any, entry: Record<string, unknown>, home: string): boolean {
  if (old?.auth?.auth_url !== undefined && old.auth.auth_url === (entry.auth as { auth_url?: string } | undefined)?.auth_url) return true
  const oldHome = old?.coffer_home
  return typeof oldHome === 'string' && (oldHome === home || !existsSync(oldHome))
}

/** Sets `clouds.coffer` in the YAML text and replaces the file in one rename, through a symlink if it is one. */
async function writePrivate(file: string, text: string, entry: Record<string, unknown>): Promise<void> {
  const doc = parseDocument(text)
  doc.setIn(['clouds', CLOUD_NAME], doc.createNode(entry))
  const target = existsSync(file) ? await realpath(file) : file
  const tmp = `${target}.coffer-${process.pid}`
  await writeFile(tmp, doc.toString(), { mode: 0o600 })
  await chmod(tmp, 0o600)
  await rename(tmp, target)
}
