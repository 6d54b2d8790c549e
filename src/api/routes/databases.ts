/**
 * `/instances/{id}/databases`: list (paged), create many at once, delete. The guest does the work
 * over the engine's own protocol; names are checked against the datastore's rules first.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { BadRequest, NotFound } from '../../core/errors.js'
import { refuseDuplicateDatabases } from '../../core/schema-retry.js'
import { limitItems, printable, validateName } from '../../core/validation.js'
import type { GuestDatabase } from '../../guest/protocol.js'
import { checkDatabaseCharacterSets } from '../character-set-check.js'
import type { ApiContext } from '../context.js'
import { page, readyInstance, type InstanceParams } from '../instance-guest.js'
import { baseUrl } from '../links.js'
import { parseBody } from '../parse.js'

const CreateBody = z.object({
  databases: z.array(z.object({ name: z.string(), character_set: z.string().optional(), collate: z.string().optional() })).min(1, 'name at least one database'),
})

type P = InstanceParams & { Params: { name: string }; Querystring: { limit?: string; marker?: string } }

export function databaseRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<P>('/v1.0/:projectId/instances/:instanceId/databases', async (req) => {
    const inst = await readyInstance(ctx, req, 'databases')
    const all = await inst.schema<GuestDatabase[]>({ op: 'list-databases' })
    const base = `${baseUrl(req)}/v1.0/${req.params.projectId}/instances/${inst.row.id}/databases`
    const { items, links } = page(all, req.query, (marker, limit) => `${base}?limit=${limit}&marker=${encodeURIComponent(marker)}`)
    return { databases: items, ...(links.length ? { links } : {}) }
  })

  app.post<P>('/v1.0/:projectId/instances/:instanceId/databases', async (req, reply) => {
    const inst = await readyInstance(ctx, req, 'databases')
    const { databases } = parseBody(CreateBody, req.body)
    limitItems('databases', databases.length)
    const seen = new Set<string>()
    for (const d of databases) {
      validateName(inst.manifest.names, 'database', d.name)
      if (seen.has(d.name)) throw new BadRequest(`Database '${d.name}' is listed twice.`)
      seen.add(d.name)
    }
    // Every item is checked before any is made: one bad item changes nothing.
    await checkDatabaseCharacterSets(ctx, inst.spec.datastore, inst.spec.version, databases)
    refuseDuplicateDatabases(await inst.schema<GuestDatabase[]>({ op: 'list-databases' }), databases)
    await inst.schema({ op: 'create-databases', databases })
    return reply.code(202).send()
  })

  app.delete<P>('/v1.0/:projectId/instances/:instanceId/databases/:name', async (req, reply) => {
    const inst = await readyInstance(ctx, req, 'databases')
    validateName(inst.manifest.names, 'database', req.params.name)
    const existing = await inst.schema<GuestDatabase[]>({ op: 'list-databases' })
    if (!existing.some((d) => d.name === req.params.name)) throw new NotFound(`Database ${printable(req.params.name)} cannot be found on instance ${inst.row.id}.`)
    await inst.schema({ op: 'delete-database', name: req.params.name })
    return reply.code(202).send()
  })
}
