/**
 * Keystone v3 JSON for projects, users, roles, domains and role assignments, with the `links`
 * that python-keystoneclient reads on every entity and list (it fails with `KeyError: 'links'`
 * without them). Everything lives in the one `Default` domain.
 */
import type { Assignment } from '../../identity/assignments.js'
import type { ProjectRow } from '../../identity/projects.js'
import type { UserRow } from '../../identity/users.js'

export const DEFAULT_DOMAIN = { id: 'default', name: 'Default' } as const

const self = (href: string) => ({ self: href })

/** A list with Keystone's collection links (no paging: every list is short). */
export const collection = <T>(base: string, path: string, key: string, items: readonly T[]) => ({
  [key]: items,
  links: { self: `${base}/v3/${path}`, previous: null, next: null },
})

export const projectView = (base: string, p: ProjectRow) => ({
  id: p.id,
  name: p.name,
  description: '',
  domain_id: DEFAULT_DOMAIN.id,
  parent_id: DEFAULT_DOMAIN.id,
  enabled: true,
  is_domain: false,
  tags: [],
  options: {},
  links: self(`${base}/v3/projects/${p.id}`),
})

export const userView = (base: string, u: UserRow) => ({
  id: u.id,
  name: u.name,
  domain_id: DEFAULT_DOMAIN.id,
  enabled: true,
  ...(u.default_project_id ? { default_project_id: u.default_project_id } : {}),
  password_expires_at: null,
  options: {},
  links: self(`${base}/v3/users/${u.id}`),
})

export const roleView = (base: string, name: string) => ({
  id: name,
  name,
  domain_id: null,
  description: null,
  options: {},
  links: self(`${base}/v3/roles/${name}`),
})

export const domainView = (base: string) => ({
  ...DEFAULT_DOMAIN,
  description: 'The only domain: every project and user is in it.',
  enabled: true,
  tags: [],
  options: {},
  links: self(`${base}/v3/domains/${DEFAULT_DOMAIN.id}`),
})

/** Keystone's assignment entry; `include_names` adds names and domains, as `openstack role assignment list --names` shows. */
export const assignmentView = (base: string, a: Assignment, names: boolean) => ({
  role: names ? { id: a.role, name: a.role } : { id: a.role },
  user: names ? { id: a.userId, name: a.userName, domain: DEFAULT_DOMAIN } : { id: a.userId },
  scope: { project: names ? { id: a.projectId, name: a.projectName, domain: DEFAULT_DOMAIN } : { id: a.projectId } },
  links: { assignment: `${base}/v3/projects/${a.projectId}/users/${a.userId}/roles/${a.role}` },
})
