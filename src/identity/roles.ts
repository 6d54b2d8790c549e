/**
 * What each role may do, as Keystone's default roles imply one another (admin ⊃ member ⊃ reader).
 * `admin` on an ordinary project is that project's admin only; the cloud admin is the admin role
 * on the admin project (Keystone's and Trove's `admin_required`), and only it reaches other projects
 * and the admin routes.
 */
export const ROLES = ['admin', 'member', 'reader'] as const

/** The user made at first start with the admin role on the admin project (bootstrap.ts). */
export const ADMIN_USER = 'admin'
export type Role = (typeof ROLES)[number]

export const isRole = (r: string): r is Role => (ROLES as readonly string[]).includes(r)

export const canRead = (roles: readonly string[]): boolean => roles.some(isRole)

export const canWrite = (roles: readonly string[]): boolean => roles.includes('member') || roles.includes('admin')

export const isCloudAdmin = (roles: readonly string[], projectName: string, adminProject: string): boolean =>
  roles.includes('admin') && projectName === adminProject
