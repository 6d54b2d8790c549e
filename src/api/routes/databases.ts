/**
 * `/instances/{id}/databases`: list (paged), create many at once, delete. The guest does the work
 * over the engine's own protocol; names are checked against the datastore's rules first.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { BadRequest, NotFound } from '../../core/errors.js'
import type { GuestDatabase } from '../../guest/protocol.js'
import { printable, validateName } from '../../core/validation.js'
import type { ApiContext } from '../context.js'
import { page, readyInstance, type InstanceParams } from '../instance-guest.js'
import { baseUrl } from '../links.js'
import { parseBody } from '../parse.js'

const CHARSET = /^[A-Za-z0-9_]{1,64}$/
const COLLATE = /^[A-Za-z0-9_.@-]{1,64}$/
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
    const seen = new Set<string>()
    for (const d of databases) {
      validateName(inst.manifest.names, 'database', d.name)
      if (d.character_set !== undefined && !CHARSET.test(d.character_set)) throw new BadRequest(`Character set '${printable(d.character_set)}' is not valid.`)
      if (d.collate !== undefined && !COLLATE.test(d.collate)) throw new BadRequest(`Collation '${printable(d.collate)}' is not valid.`)
      if (seen.has(d.name)) throw new BadRequest(`Database '${d.name}' is listed twice.`)
      seen.add(d.name)
    }
    const existing = new Set((await inst.schema<GuestDatabase[]>({ op: 'list-databases' })).map((d) => d.name))
    const clash = databases.find((d) => existing.has(d.name))
    if (clash) throw new BadRequest(`A database with the name "${clash.name}" already exists.`)
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
