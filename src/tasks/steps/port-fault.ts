/**
 * Test fault point: `COFFER_TAKE_PORT_AFTER_PLACE=<n>` makes this process listen on the ports of
 * the first n placements of every instance (its `place`, then each `move-port`), right after each
 * was recorded: the port was free when probed and is taken before the engine starts, as when
 * another program on the machine (another Coffer home) takes it. The listeners last as long as the
 * process; they accept connections and say nothing.
 */
import { createServer } from 'node:net'

const TAKE = Number(process.env.COFFER_TAKE_PORT_AFTER_PLACE ?? 0)
/** Ports taken so far, by instance. */
const taken = new Map<string, Set<number>>()

/** Takes `port`, just given to instance `id`, on every address when the fault point asks for it. */
export async function takePortAfterPlace(id: string, port: number): Promise<void> {
  const ports = taken.get(id) ?? new Set<number>()
  if (ports.size >= TAKE || ports.has(port)) return
  ports.add(port)
  taken.set(id, ports)
  const server = createServer((socket) => socket.on('error', () => undefined))
  await new Promise<void>((resolve) => {
    // No host: the unspecified address, so a bind to any one address of the port fails.
    server.once('error', () => resolve()).listen({ port, exclusive: true }, () => resolve())
  })
  server.unref()
}
