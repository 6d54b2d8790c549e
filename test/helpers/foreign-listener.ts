/**
 * Another program on the machine holding a port: a plain TCP server that accepts connections and
 * says nothing. Tests use it to take an instance's port from under its engine.
 */
import { createServer } from 'node:net'

export interface ForeignListener {
  readonly port: number
  close(): Promise<void>
}

/** Listens on `port` of 127.0.0.1 (0: any free port); rejects when the port is taken. */
export async function foreignListener(port = 0): Promise<ForeignListener> {
  const server = createServer((socket) => socket.on('error', () => undefined))
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** How a start that found its port taken fails: PORT_IN_USE, naming the port, the engine's own words in the details. */
export const portInUseFailure =
  (port: number, engineSays: RegExp) =>
  (err: { code?: string; message: string; details?: string }): boolean =>
    err.code === 'PORT_IN_USE' && (err.message.includes(`port ${port}`) || err.message.includes(`:${port}:`)) && engineSays.test(err.details ?? '')
