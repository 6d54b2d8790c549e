/**
 * The suite every Bus runs (Hono's shared-suite style): whatever the transport, messages arrive as
 * JSON would carry them, errors are rebuilt with their code, retry flag and details, cancels reach
 * the node, and heartbeats and registrations reach the control plane. An implementation that
 * cannot do one of these names it in `skip` with the reason.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { CofferError, NotFound, NotImplemented } from '../core/errors.js'
import { GUEST_PROTOCOL_VERSION, type Heartbeat, type InstanceSpec, type NodeAnnouncement, type NodeHeartbeat } from '../guest/protocol.js'
import type { Bus, NodeCall } from './bus.js'

export interface BusSuiteOptions {
  readonly skip?: readonly { readonly reason: string; readonly tests: readonly string[] }[]
}

const spec: InstanceSpec = { instanceId: '00000000-0000-4000-8000-000000000001', datastore: 'redis', version: '7.0', port: 20001, flavor: { ramMb: 512, vcpus: 1 } }
const announcement: NodeAnnouncement = {
  protocol: GUEST_PROTOCOL_VERSION,
  name: 'n1',
  addresses: ['127.0.0.1'],
  ports: { first: 20000, last: 20099 },
  capacity: { ramMb: 4096, vcpus: 2, diskGb: 20 },
  manifests: [],
  heartbeatMs: 500,
}

class Thing {
  readonly #secret = 'kept home'
  readonly kind = 'thing'
  constructor(readonly size: number) {}
  describe(): string {
    return `${this.kind} of ${this.size} (${this.#secret})`
  }
}

/** Resolves once `fn` has been called, with what it was given. */
const nextCall = <T>(): { seen: Promise<T>; take: (v: T) => void } => {
  let take: (v: T) => void = () => undefined
  const seen = new Promise<T>((r) => (take = r))
  return { seen, take }
}

export function runBusSuite(name: string, makeBus: () => Bus, options: BusSuiteOptions = {}): void {
  const skipped = (test: string) => options.skip?.find((s) => s.tests.includes(test))?.reason
  const test = (title: string, fn: () => Promise<void>) => {
    const reason = skipped(title)
    it(title, reason ? { skip: reason } : {}, fn)
  }
  const echo = (bus: Bus, node = 'n1') => {
    const calls: NodeCall[] = []
    bus.serve(node, async (call) => {
      calls.push(call)
      return call.args
    })
    return calls
  }

  describe(`bus: ${name}`, () => {
    test('request and reply carry JSON: Dates as strings, undefined dropped, class instances as plain data', async () => {
      const bus = makeBus()
      const calls = echo(bus)
      const when = new Date('2026-01-02T03:04:05.000Z')
      const sent = [{ when, gone: undefined, kept: null, thing: new Thing(3), list: [1, undefined, 'x'], map: new Map([['a', 1]]) }]
      const back = (await bus.call('n1', { method: 'status', args: sent })) as unknown[]
      const expected = [{ when: '2026-01-02T03:04:05.000Z', kept: null, thing: { kind: 'thing', size: 3 }, list: [1, null, 'x'], map: {} }]
      assert.deepEqual(calls[0]?.args, expected, 'as the node got them')
      assert.deepEqual(back, expected, 'as the caller got them back')
      assert.equal(Object.getPrototypeOf((calls[0]?.args[0] as { thing: object }).thing), Object.prototype)
    })

    test('a node’s GuestApi is calls over the bus, options left out', async () => {
      const bus = makeBus()
      const calls = echo(bus)
      await bus.node('n1').status(spec)
      await bus.node('n1').restart(spec, { signal: new AbortController().signal })
      await bus.node('n1').ensure({ spec, running: true })
      assert.deepEqual(calls, [
        { method: 'status', args: [spec] },
        { method: 'restart', args: [spec] },
        { method: 'ensure', args: [{ spec, running: true }] },
      ])
    })

    test('a reply of nothing arrives as undefined', async () => {
      const bus = makeBus()
      bus.serve('n1', async () => undefined)
      assert.equal(await bus.call('n1', { method: 'stop', args: [spec] }), undefined)
    })

    test('errors cross as code, message, details and retryable, and are rebuilt as the catalogue’s class', async () => {
      const bus = makeBus()
      const thrown: Record<string, unknown> = {
        notFound: new NotFound('Instance x could not be found.', 'INSTANCE_NOT_FOUND'),
        notImplemented: new NotImplemented('Datastore redis has no users.'),
        engine: new CofferError('ENGINE', 'the engine did not start', { retryable: false, details: 'FATAL: lock file exists' }),
        plain: new Error('something unexpected'),
      }
      bus.serve('n1', async (call) => {
        throw thrown[call.args[0] as string]
      })
      const failure = (what: string) => bus.call('n1', { method: 'status', args: [what] }).then(() => assert.fail('no error'), (err: unknown) => err)

      const nf = await failure('notFound')
      assert.ok(nf instanceof NotFound && nf !== thrown.notFound)
      assert.deepEqual([nf.code, nf.message, nf.retryable, nf.details], ['INSTANCE_NOT_FOUND', 'Instance x could not be found.', false, undefined])
      assert.ok((await failure('notImplemented')) instanceof NotImplemented)
      const engine = await failure('engine')
      assert.ok(engine instanceof CofferError)
      assert.deepEqual([engine.code, engine.message, engine.retryable, engine.details], ['ENGINE', 'the engine did not start', false, 'FATAL: lock file exists'])
      const plain = await failure('plain')
      assert.ok(plain instanceof CofferError)
      assert.deepEqual([plain.code, plain.message, plain.retryable], ['INTERNAL', 'something unexpected', true])
    })

    test('a call to a node that does not serve rejects with a CofferError', async () => {
      const bus = makeBus()
      await assert.rejects(bus.call('nowhere', { method: 'status', args: [spec] }), CofferError)
    })

    test('a cancel reaches the node: its signal fires and the call rejects', async () => {
      const bus = makeBus()
      const aborted = nextCall<unknown>()
      const started = nextCall<void>()
      bus.serve('n1', (_call, signal) => {
        started.take()
        return new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => {
            aborted.take(signal.reason)
            reject(new CofferError('ENGINE', 'stopped half way', { retryable: false }))
          }),
        )
      })
      const controller = new AbortController()
      const call = bus.call('n1', { method: 'prepare', args: [spec] }, { signal: controller.signal })
      await started.seen
      controller.abort()
      await aborted.seen
      await assert.rejects(call)
    })

    test('a call whose signal already fired never reaches the node', async () => {
      const bus = makeBus()
      const calls = echo(bus)
      await assert.rejects(bus.call('n1', { method: 'restart', args: [spec] }, { signal: AbortSignal.abort() }))
      await sleep(10)
      assert.equal(calls.length, 0)
    })

    test('heartbeats reach the control plane as JSON', async () => {
      const bus = makeBus()
      const got = nextCall<Heartbeat>()
      const gotNode = nextCall<NodeHeartbeat>()
      bus.onHeartbeat(got.take)
      bus.onNodeHeartbeat(gotNode.take)
      const hb: Heartbeat = { protocol: GUEST_PROTOCOL_VERSION, instanceId: spec.instanceId, observedAt: 1234, serviceStatus: 'HEALTHY', volumeUsedBytes: 42 }
      const nodeHb: NodeHeartbeat = { protocol: GUEST_PROTOCOL_VERSION, name: 'n1', observedAt: 1235, instances: [spec.instanceId] }
      bus.publishHeartbeat(hb)
      bus.publishNodeHeartbeat(nodeHb)
      const [a, b] = await Promise.all([got.seen, gotNode.seen])
      assert.deepEqual(a, hb)
      assert.notEqual(a, hb)
      assert.deepEqual(b, nodeHb)
      assert.notEqual(b, nodeHb)
    })

    test('a node registers: the control plane takes its announcement, and the node learns whether it was taken', async () => {
      const bus = makeBus()
      await assert.rejects(bus.register(announcement), CofferError, 'nobody listening')
      const got: NodeAnnouncement[] = []
      bus.onRegister(async (a) => {
        await sleep(5)
        got.push(a)
        if (a.name === 'refused') throw new CofferError('CONFLICT', 'a node of that name is draining', { retryable: false })
      })
      await bus.register(announcement)
      assert.deepEqual(got, [announcement])
      assert.notEqual(got[0], announcement)
      await assert.rejects(bus.register({ ...announcement, name: 'refused' }), (err: unknown) => err instanceof CofferError && err.code === 'CONFLICT')
    })
  })
}
