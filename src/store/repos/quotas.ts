import { QUOTA_RESOURCES, type QuotaResource, type QuotaValues } from '../../core/quotas.js'
import type { Db } from '../schema.js'

/** A project's limits: its own rows over the deployment's defaults. */
export async function quotaLimits(db: Db, projectId: string, defaults: QuotaValues): Promise<QuotaValues> {
  const rows = await db.selectFrom('quotas').select(['resource', 'hard_limit']).where('project_id', '=', projectId).execute()
  const limits: Record<QuotaResource, number> = { ...defaults }
  for (const r of rows) if ((QUOTA_RESOURCES as readonly string[]).includes(r.resource)) limits[r.resource as QuotaResource] = Number(r.hard_limit)
  return limits
}

/** What a project uses now: its instances and the GB of their volumes, whatever their status, and its backups. */
export async function quotaUsage(db: Db, projectId: string): Promise<QuotaValues> {
  const r = await db
    .selectFrom('instances')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('volume_size').as('gb')])
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow()
  const b = await db.selectFrom('backups').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow()
  return { instances: Number(r.n), volumes: Number(r.gb ?? 0), backups: Number(b.n) }
}

export async function setQuotaLimits(db: Db, projectId: string, limits: Partial<Record<QuotaResource, number>>): Promise<void> {
  const updated_at = new Date().toISOString()
  for (const [resource, hard_limit] of Object.entries(limits)) {
    await db
      .insertInto('quotas')
      .values({ project_id: projectId, resource, hard_limit, updated_at })
      .onConflict((oc) => oc.columns(['project_id', 'resource']).doUpdateSet({ hard_limit, updated_at }))
      .execute()
  }
}
