/**
 * One operation at a time per instance, so that (say) a start racing a prepare cannot spawn two
 * engines. Operations on different instances run freely.
 */
const queues = new Map<string, Promise<unknown>>()

export function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const run = (queues.get(key) ?? Promise.resolve()).then(fn, fn)
  const tail = run.catch(() => undefined)
  queues.set(key, tail)
  void tail.then(() => queues.get(key) === tail && queues.delete(key))
  return run
}
