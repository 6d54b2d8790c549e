/**
 * Holds an instance's place (address and port) with a listener of Coffer's own while a restore
 * lays its data down, so the long restore is not lost to another process taking the port just
 * before the engine's first start (a Coffer beside this one probes places as free while nothing
 * listens). A place taken already fails at once, before anything is laid down.
 */
import { createServer, type Server } from 'node:net'
import { portInUse } from '../guest/datastores/common/bind-failure.js'
import type { InstanceContext } from '../guest/datastores/datastore.js'

export interface PlaceHold {
  /** Lets the place go (just before the engine listens there). */
  release(): Promise<void>
}

export async function holdPlace(ctx: InstanceContext, engine: string): Promise<PlaceHold> {
  const server: Server = createServer((socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(portInUse(ctx, engine, `${ctx.bindAddress}:${ctx.port} was taken before the restore began`))
      // Not bindable from here (an address this process may not use): nothing is held, the engine's start still tells.
      else resolve()
    })
    server.listen({ host: ctx.bindAddress, port: ctx.port, exclusive: true }, resolve)
  })
  return {
    release: () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())),
  }
}
