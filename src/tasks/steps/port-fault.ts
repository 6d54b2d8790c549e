/**
 * Test fault point: `COFFER_TAKE_PORT_AFTER_PLACE=<n>` makes this process listen on the place
 * (address and port) of the first n placements of every instance (its `place`, then each move),
 * right after each was recorded: the place was free when probed and is taken before the engine
 * starts, as when another program on the machine (another Coffer home) takes it. The listeners last
 * as long as the process; they accept connections and say nothing.
 */
import { createServer } from 'node:net'

const TAKE = Number(process.env.COFFER_TAKE_PORT_AFTER_PLACE ?? 0)
/** Places taken so far, by instance. */
const taken = new Map<string, Set<string>>()

/** Takes `address`:`port`, just given to instance `id`, when the fault point asks for it. */
export async function takePortAfterPlace(id: string, address: string, port: number): Promise<void> {
  const places = taken.get(id) ?? new Set<string>()
  const place = `${address}:${port}`
  if (places.size >= TAKE || places.has(place)) return
  places.add(place)
  taken.set(id, places)
  const server = createServer((socket) => socket.on('error', () => undefined))
  await new Promise<void>((resolve) => {
    server.once('error', () => resolve()).listen({ host: address, port, exclusive: true }, () => resolve())
  })
  server.unref()
}
