/**
 * `COFFER_TRACE_STEPS=1`: how long each phase of a long node operation took (a backup's stream and
 * read-back, a restore's unpack, prepare and first start), one line on stderr per phase, for
 * finding where the time goes. Off: the phase just runs.
 */
const TRACE = process.env.COFFER_TRACE_STEPS === '1'

export async function tracePhase<T>(what: string, fn: () => Promise<T>): Promise<T> {
  if (!TRACE) return fn()
  const started = performance.now()
  try {
    return await fn()
  } finally {
    process.stderr.write(`${new Date().toISOString()} TRACE phase ${what}: ${Math.round(performance.now() - started)} ms\n`)
  }
}
