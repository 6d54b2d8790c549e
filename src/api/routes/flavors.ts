import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { BadRequest, Conflict, NotFound } from '../../core/errors.js'
import { deleteFlavor, findFlavor, insertFlavor, listFlavors } from '../../store/repos/flavors.js'
import { SPARE_PROJECT } from '../../store/repos/spares.js'
import { retireSparesOfFlavor } from '../../tasks/queue.js'
import { requireAdmin } from '../auth.js'
import type { ApiContext } from '../context.js'
import { baseUrl } from '../links.js'
import { labelField, parseBody } from '../parse.js'
import { flavorView } from '../views/flavor.js'

type P = { Params: { projectId: string; flavorId: string } }

const CreateBody = z.object({
  flavor: z.object({
    id: z.union([z.string(), z.number()]).transform(String).pipe(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'use letters, digits, . _ -')).optional(),
    name: labelField('flavor', 64),
    ram: z.number().int().min(128, 'must be at least 128 MB').max(1024 * 1024),
    vcpus: z.number().int().min(1).max(256),
    disk: z.number().int().min(0).max(100_000).default(0),
  }),
})

export function flavorRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db } = ctx
  app.get<P>('/v1.0/:projectId/flavors', async (req) => ({
    flavors: (await listFlavors(db)).map((f) => flavorView(baseUrl(req), req.params.projectId, f)),
  }))
  app.get<P>('/v1.0/:projectId/flavors/:flavorId', async (req) => {
    const f = await findFlavor(db, req.params.flavorId)
    if (!f) throw new NotFound(`Resource ${req.params.flavorId} cannot be found.`, 'FLAVOR_NOT_FOUND')
    return { flavor: flavorView(baseUrl(req), req.params.projectId, f) }
  })
  // Every flavor fits every datastore version on a local node.
  app.get<P>('/v1.0/:projectId/datastores/:datastore/versions/:version/flavors', async (req) => ({
    flavors: (await listFlavors(db)).map((f) => flavorView(baseUrl(req), req.params.projectId, f)),
  }))

  // Admins add and remove flavors (Nova's part in OpenStack; Coffer keeps them itself).
  app.post<P>('/v1.0/:projectId/flavors', async (req) => {
    requireAdmin(req)
    const { flavor } = parseBody(CreateBody, req.body)
    const all = await listFlavors(db)
    const id = flavor.id ?? String(Math.max(0, ...all.map((f) => Number(f.id)).filter(Number.isInteger)) + 1)
    if (all.some((f) => f.id === id || f.name === flavor.name)) throw new Conflict(`A flavor with id ${id} or name ${flavor.name} exists already.`)
    await insertFlavor(db, { id, name: flavor.name, ram_mb: flavor.ram, vcpus: flavor.vcpus, disk_gb: flavor.disk })
    return { flavor: flavorView(baseUrl(req), req.params.projectId, (await findFlavor(db, id))!) }
  })
  app.delete<P>('/v1.0/:projectId/flavors/:flavorId', async (req, reply) => {
    requireAdmin(req)
    const f = await findFlavor(db, req.params.flavorId)
    if (!f) throw new NotFound(`Resource ${req.params.flavorId} cannot be found.`, 'FLAVOR_NOT_FOUND')
    // One transaction: a create cannot claim a spare of the flavor between the check and the delete.
    const retired = await db.transaction().execute(async (trx) => {
      const used = await trx.selectFrom('instances').select('id').where('flavor_id', '=', f.id).where('project_id', '!=', SPARE_PROJECT).executeTakeFirst()
      if (used) throw new BadRequest(`Flavor ${f.id} is used by instances; it cannot be deleted.`)
      // Spares of it go; the spare keeper makes new ones of another flavor.
      const n = await retireSparesOfFlavor(trx, f.id)
      await deleteFlavor(trx, f.id)
      return n
    })
    if (retired > 0) ctx.kickTasks()
    return reply.code(202).send()
  })
}
