/**
 * Where the CLI finds its login, like troveclient: `OS_*` variables first, then a clouds.yaml
 * (`OS_CLOUD`, default `coffer`) in the current folder, ~/.config/openstack or Coffer's home.
 */
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'

export interface Credentials {
  readonly authUrl: string
  readonly username: string
  readonly password: string
  readonly projectName: string
  readonly userDomainName: string
  readonly projectDomainName: string
  readonly region?: string | undefined
}

const defaultHome = (env: NodeJS.ProcessEnv) => resolve(env.COFFER_HOME ?? join(homedir(), '.local', 'share', 'coffer'))

export function findCredentials(env: NodeJS.ProcessEnv = process.env): Credentials {
  if (env.OS_AUTH_URL && env.OS_USERNAME && env.OS_PASSWORD) {
    return {
      authUrl: env.OS_AUTH_URL,
      username: env.OS_USERNAME,
      password: env.OS_PASSWORD,
      projectName: env.OS_PROJECT_NAME ?? env.OS_TENANT_NAME ?? env.OS_USERNAME,
      userDomainName: env.OS_USER_DOMAIN_NAME ?? 'Default',
      projectDomainName: env.OS_PROJECT_DOMAIN_NAME ?? 'Default',
      region: env.OS_REGION_NAME,
    }
  }
  const cloud = env.OS_CLOUD ?? 'coffer'
  const files = [join(process.cwd(), 'clouds.yaml'), join(homedir(), '.config', 'openstack', 'clouds.yaml'), join(defaultHome(env), 'clouds.yaml')]
  for (const file of files) {
    const found = cloudIn(file, cloud)
    if (found) return found
  }
  throw new Error(
    `no credentials: set OS_AUTH_URL, OS_USERNAME and OS_PASSWORD (e.g. \`source ${join(defaultHome(env), 'openrc')}\`), ` +
      `or start \`coffer serve\` once so that ${join(defaultHome(env), 'clouds.yaml')} exists`,
  )
}

/** The login of `cloud` in one clouds.yaml; undefined when the file or the cloud is not there. */
export function cloudIn(file: string, cloud: string): Credentials | undefined {
  if (!existsSync(file)) return undefined
  const c = (parse(readFileSync(file, 'utf8')) as { clouds?: Record<string, any> })?.clouds?.[cloud]
  if (!c?.auth) return undefined
  return {
    authUrl: c.auth.auth_url,
    username: c.auth.username,
    password: c.auth.password,
    projectName: c.auth.project_name,
    userDomainName: c.auth.user_domain_name ?? 'Default',
    projectDomainName: c.auth.project_domain_name ?? 'Default',
    region: c.region_name,
  }
}
