import { ApiError, type CofferClient } from './client.js'

interface Named {
  readonly id: string
  readonly name: string
  /** How a match is shown when a name is ambiguous; default: the id. */
  readonly label?: string
}

/**
 * Finds a resource by id or by name, as troveclient's find_resource does: the id first (one GET),
 * then a unique name in the list. An ambiguous name lists the matches so the caller can pick an id.
 */
async function resolve(client: CofferClient, kind: string, one: string, list: () => Promise<Named[]>, idOrName: string, listCommand: string): Promise<string> {
  try {
    await client.request('GET', one)
    return idOrName
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err
  }
  return pickByName(kind, await list(), idOrName, listCommand)
}

/** No resource has the name or id asked for (an ambiguous name is a plain Error). */
export class NoSuchResource extends Error {}

/** The one item named `name` (or whose id it is); an error naming the choices otherwise. */
export function pickByName(kind: string, items: readonly Named[], name: string, listCommand: string): string {
  const byId = items.find((i) => i.id === name)
  if (byId) return byId.id
  const matches = items.filter((i) => i.name === name)
  if (matches.length === 1 && matches[0]) return matches[0].id
  if (matches.length > 1) throw new Error(`more than one ${kind} is named '${name}': ${matches.map((m) => m.label ?? m.id).join(', ')}; use an id`)
  throw new NoSuchResource(`no ${kind} with a name or id of '${name}' exists (see \`coffer ${listCommand}\`)`)
}

/** An instance by id or by name, as troveclient finds it: by id first, then by a unique name. */
export const resolveInstanceId = (client: CofferClient, idOrName: string): Promise<string> =>
  resolve(client, 'instance', `/instances/${encodeURIComponent(idOrName)}`, async () => (await client.request('GET', '/instances')).instances, idOrName, 'list')

export const resolveConfigurationId = (client: CofferClient, idOrName: string): Promise<string> =>
  resolve(client, 'configuration group', `/configurations/${encodeURIComponent(idOrName)}`, async () => (await client.request('GET', '/configurations')).configurations, idOrName, 'configuration-list')

/** Flavor ids are often numbers and names like `m1.small`; both are tried, as troveclient does. */
export const resolveFlavorId = (client: CofferClient, idOrName: string): Promise<string> =>
  resolve(client, 'flavor', `/flavors/${encodeURIComponent(idOrName)}`, async () => (await client.request('GET', '/flavors')).flavors.map((f: { str_id: string; name: string }) => ({ id: f.str_id, name: f.name })), idOrName, 'flavor-list')

/**
 * A datastore version by id, or by name or number within `datastore` when given; without it, a
 * name is looked for in every datastore and must be found in only one.
 */
export async function resolveVersionPath(client: CofferClient, idOrName: string, datastore?: string): Promise<string> {
  if (datastore) return `/datastores/${encodeURIComponent(datastore)}/versions/${encodeURIComponent(idOrName)}`
  const { datastores } = await client.request('GET', '/datastores')
  const versions = (datastores as { name: string; versions: { id: string; name: string }[] }[]).flatMap((d) => d.versions.map((v) => ({ id: v.id, name: v.name, label: `${v.id} (${d.name})` })))
  const id = pickByName('datastore version', versions, idOrName, 'datastore-list')
  return `/datastores/versions/${encodeURIComponent(id)}`
}

/** `name` or `name@host`, URL-encoded, as troveclient sends a user in a path. */
export const userPath = (name: string, host?: string): string => encodeURIComponent(host ? `${name}@${host}` : name)
