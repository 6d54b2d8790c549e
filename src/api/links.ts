import type { FastifyRequest } from 'fastify'

export interface Link {
  readonly href: string
  readonly rel: string
}

/** Base URL as the client reached us, so links work through whatever address it used. */
export const baseUrl = (req: FastifyRequest): string => `${req.protocol}://${req.headers.host ?? req.hostname}`

/** Trove's self + bookmark pair: `/v1.0/{project}/{path}` and `/{path}`. */
export const links = (base: string, projectId: string, path: string): Link[] => [
  { href: `${base}/v1.0/${projectId}/${path}`, rel: 'self' },
  { href: `${base}/${path}`, rel: 'bookmark' },
]

/** Trove's timestamps: seconds, no zone. */
export const troveTime = (iso: string | null | undefined): string | undefined => iso?.slice(0, 19)
