/**
 * `/mgmt/quotas/{project}`: the cloud admin reads and sets a project's quotas in Trove's shapes
 * (trove/extensions/mgmt/quota/service.py): GET answers `{"quotas": [{resource, in_use, reserved,
 * limit}]}`, PUT takes `{"quotas": {"instances": 5}}` and answers the limits it set.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { NotFound } from '../../core/errors.js'
import { parseQuotaUpdate, QUOTA_RESOURCES, type QuotaValues } from '../../core/quotas.js'
import type { Settings } from '../../config.js'
import { quotaLimits, quotaUsage, setQuotaLimits } from '../../store/repos/quotas.js'
import type { Db } from '../../store/schema.js'
import { parseBody } from '../parse.js'

type P = { Params: { projectId: string; project: string } }

const UpdateBody = z.object({ quotas: z.record(z.string(), z.unknown()) })

export const defaultQuotas = (s: Settings): QuotaValues => ({ instances: s.maxInstancesPerProject, volumes: s.maxVolumesPerProject, backups: s.maxBackupsPerProject })

/** By id, or by name for people typing it; Trove takes any id, Coffer only a project it knows. */
async function requireProject(db: Db, idOrName: string): Promise<string> {
  const p = await db.selectFrom('projects').select('id').where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)])).executeTakeFirst()
  if (!p) throw new NotFound(`Project '${idOrName.slice(0, 80)}' cannot be found.`)
  return p.id
}

export function quotaRoutes(app: FastifyInstance, db: Db, settings: Settings): void {
  // The admin check is requireToken's, as for every /mgmt/ route.
  app.get<P>('/v1.0/:projectId/mgmt/quotas/:project', async (req) => {
    const project = await requireProject(db, req.params.project)
    const [limits, inUse] = await Promise.all([quotaLimits(db, project, defaultQuotas(settings)), quotaUsage(db, project)])
    return { quotas: QUOTA_RESOURCES.map((resource) => ({ resource, in_use: inUse[resource], reserved: 0, limit: limits[resource] })) }
  })
  app.put<P>('/v1.0/:projectId/mgmt/quotas/:project', async (req) => {
    const project = await requireProject(db, req.params.project)
    const changes = parseQuotaUpdate(parseBody(UpdateBody, req.body).quotas)
    await setQuotaLimits(db, project, changes)
    return { quotas: changes }
  })
}
