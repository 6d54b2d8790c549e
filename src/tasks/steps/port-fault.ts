/**
 * Test fault point: `COFFER_TAKE_PORT_AFTER_PLACE=<n>` makes this process listen on the port that
 * each of the first n placements (a create's `place`, then each `move-port`) gave an instance,
 * right after it was recorded: the port was free when probed and is taken before the engine
 * starts, as when another program on the machine (another Coffer home) takes it. The listeners
 * last as long as the process; they answer every connection and say nothing.
 */
import { createServer, type Server } from 'node:net'

const TAKE = Number(process.env.COFFER_TAKE_PORT_AFTER_PLACE ?? 0)
const taken = new Map<number, Server>()

/** Takes `port` on every address when the fault point asks for it; a no-op otherwise. */
export async function takePortAfterPlace(port: number): Promise<void> {
  if (taken.size >= TAKE || taken.has(port)) return
  const server = createServer((socket) => socket.on('error', () => undefined))
  await new Promise<void>((resolve) => {
    // No host: the unspecified address, so a bind to any one address of the port fails.
    server.once('error', () => resolve()).listen({ port, exclusive: true }, () => resolve())
  })
  server.unref()
  taken.set(port, server)
}
