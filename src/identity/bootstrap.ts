/**
 * First start: the `admin` user with the admin role on the admin project (the cloud admin), and the files that let `openstack` and
 * `coffer` log in with no further set-up (`openrc`, `clouds.yaml`, both mode 0600). At every start the home's `coffer` cloud is
 * merged into the user's own clouds.yaml (user-clouds-yaml.ts), where `openstack --os-cloud coffer` finds it.
 */
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import type { Db } from '../store/schema.js'
import { ensureUser } from './identity.js'
import { generatePassword } from './passwords.js'
import { ADMIN_USER } from './roles.js'
import { CLOUD_NAME, mergeCofferCloud, userCloudsYamlPath, type MergeResult } from './user-clouds-yaml.js'

export interface Bootstrap {
  /** Set only when the admin user was made just now with a generated password. */
  readonly generatedPassword?: string
  readonly openrc: string
  readonly cloudsYaml: string
  /** What became of the user's clouds.yaml; absent when the home has no clouds.yaml to copy. */
  readonly userClouds?: MergeResult
}

export async function bootstrapIdentity(
  db: Db,
  home: string,
  url: string,
  configured: string | undefined,
  adminProject: string,
  userCloudsYaml: string = userCloudsYamlPath(),
): Promise<Bootstrap> {
  const password = configured ?? generatePassword()
  const created = await ensureUser(db, { name: ADMIN_USER, password, project: adminProject, role: 'admin' })
  const openrc = join(home, 'openrc')
  const cloudsYaml = join(home, 'clouds.yaml')
  if (created) {
    await writeFile(openrc, openrcText(url, password, adminProject), { mode: 0o600 })
    await writeFile(cloudsYaml, cloudsText(url, password, adminProject), { mode: 0o600 })
  }
  const userClouds = await shareCloud(cloudsYaml, userCloudsYaml, url, home)
  return { ...(created && !configured ? { generatedPassword: password } : {}), openrc, cloudsYaml, ...(userClouds ? { userClouds } : {}) }
}

/** Copies the home's `coffer` cloud, at this start's URL, into the user's clouds.yaml; a failure only costs the convenience. */
async function shareCloud(cloudsYaml: string, userFile: string, url: string, home: string): Promise<MergeResult | undefined> {
  if (!existsSync(cloudsYaml)) return undefined
  try {
    const cloud = (parse(await readFile(cloudsYaml, 'utf8')) as { clouds?: Record<string, any> })?.clouds?.[CLOUD_NAME]
    if (!cloud?.auth) return undefined
    return await mergeCofferCloud(userFile, { ...cloud, auth: { ...cloud.auth, auth_url: `${url}/v3` } }, home)
  } catch (err) {
    return { file: userFile, outcome: 'kept', reason: (err as Error).message }
  }
}

const openrcText = (url: string, password: string, project: string): string =>
  [
    '# Coffer credentials: `source` this file, then use `coffer` or `openstack database ...`.',
    `export OS_AUTH_URL=${url}/v3`,
    'export OS_AUTH_TYPE=password',
    'export OS_IDENTITY_API_VERSION=3',
    `export OS_USERNAME=${ADMIN_USER}`,
    `export OS_PASSWORD='${password.replaceAll("'", `'\\''`)}'`,
    `export OS_PROJECT_NAME=${project}`,
    'export OS_USER_DOMAIN_NAME=Default',
    'export OS_PROJECT_DOMAIN_NAME=Default',
    'export OS_REGION_NAME=RegionOne',
    'export OS_INTERFACE=public',
    '',
  ].join('\n')

const cloudsText = (url: string, password: string, project: string): string =>
  stringify({
    clouds: {
      coffer: {
        auth_type: 'password',
        auth: { auth_url: `${url}/v3`, username: ADMIN_USER, password, project_name: project, user_domain_name: 'Default', project_domain_name: 'Default' },
        identity_api_version: 3,
        region_name: 'RegionOne',
        interface: 'public',
      },
    },
  })
