/**
 * First start: the `admin` user with the admin role on the admin project (the cloud admin), and the files that let `openstack` and
 * `coffer` log in with no further set-up (`openrc`, `clouds.yaml`, both mode 0600).
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import type { Db } from '../store/schema.js'
import { ensureUser } from './identity.js'
import { generatePassword } from './passwords.js'
import { ADMIN_USER } from './roles.js'

export interface Bootstrap {
  /** Set only when the admin user was made just now with a generated password. */
  readonly generatedPassword?: string
  readonly openrc: string
  readonly cloudsYaml: string
}

export async function bootstrapIdentity(db: Db, home: string, url: string, configured: string | undefined, adminProject: string): Promise<Bootstrap> {
  const password = configured ?? generatePassword()
  const created = await ensureUser(db, { name: ADMIN_USER, password, project: adminProject, role: 'admin' })
  const openrc = join(home, 'openrc')
  const cloudsYaml = join(home, 'clouds.yaml')
  if (created) {
    await writeFile(openrc, openrcText(url, password, adminProject), { mode: 0o600 })
    await writeFile(cloudsYaml, cloudsText(url, password, adminProject), { mode: 0o600 })
  }
  return { ...(created && !configured ? { generatedPassword: password } : {}), openrc, cloudsYaml }
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
