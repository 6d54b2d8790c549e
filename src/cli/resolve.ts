import { ApiError, type CofferClient } from './client.js'

/** An instance by id or by name, as troveclient finds it: by id first, then by a unique name. */
export async function resolveInstanceId(client: CofferClient, idOrName: string): Promise<string> {
  try {
    return (await client.request('GET', `/instances/${encodeURIComponent(idOrName)}`)).instance.id
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err
  }
  const { instances } = await client.request('GET', '/instances')
  const matches = (instances as { id: string; name: string }[]).filter((i) => i.name === idOrName)
  if (matches.length === 1 && matches[0]) return matches[0].id
  if (matches.length > 1) throw new Error(`more than one instance is named '${idOrName}'; use its id`)
  throw new Error(`no instance with a name or id of '${idOrName}' exists (see \`coffer list\`)`)
}

/** `name` or `name@host`, URL-encoded, as troveclient sends a user in a path. */
export const userPath = (name: string, host?: string): string => encodeURIComponent(host ? `${name}@${host}` : name)
