/**
 * Typed errors for engine failures, engine-agnostic: what a start's new log lines say decides the
 * code and whether trying the same step again can help. Messages stay short and tenant-safe; log
 * excerpts go to `details` only.
 */
import { basename } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CofferError, type ErrorCode } from '../../../core/errors.js'

interface StartFailure {
  readonly code: ErrorCode
  readonly retryable: boolean
  /** Ends the message: "<engine> of instance <id> exited while starting: <reason>." */
  readonly reason: string
}

/**
 * First match wins, so a lasting cause beats the generic lines engines print after it (PostgreSQL's
 * "could not create any TCP/IP sockets" follows the bind failure). Wordings: PostgreSQL 15,
 * MariaDB 10.11 and Redis 7.0.
 */
const RULES: readonly (readonly [RegExp, StartFailure])[] = [
  [/address already in use|could not bind|bind on tcp\/ip port/i, { code: 'PORT_IN_USE', retryable: false, reason: 'its port is in use by another process' }],
  [/no space left on device|disk full|ENOSPC/i, { code: 'DISK_FULL', retryable: false, reason: 'its volume is full' }],
  [
    /fatal config file error|configuration file .* contains errors|invalid value for parameter|unrecognized configuration parameter|unknown variable|unknown option|bad directive|is not a compiled character set|unknown (?:collation|character set)/i,
    { code: 'ENGINE_CONFIG_INVALID', retryable: false, reason: 'it refused its configuration' },
  ],
  [/permission denied|operation not permitted/i, { code: 'ENGINE_START_FAILED', retryable: false, reason: 'it may not use its files' }],
]

const UNKNOWN: StartFailure = { code: 'ENGINE_START_FAILED', retryable: true, reason: 'see the engine log' }

/** What an engine's log lines, written since it was started, say about why it exited. Pure. */
export function classifyStartFailure(log: string): StartFailure {
  return RULES.find(([pattern]) => pattern.test(log))?.[1] ?? UNKNOWN
}

/**
 * The log of an engine that just exited, read again for up to `waitMs` until it names a known
 * cause: where a helper process writes the log (PostgreSQL's collector), the last lines may land
 * just after the engine itself is gone.
 */
export async function settledLog(read: () => Promise<string>, waitMs = 1_000): Promise<string> {
  const deadline = Date.now() + waitMs
  for (;;) {
    const log = await read()
    if (classifyStartFailure(log) !== UNKNOWN || Date.now() >= deadline) return log
    await sleep(20)
  }
}

/** The engine process exited before it became ready; `log` is what it wrote since it was started. */
export function engineExited(engine: string, instanceId: string, log: string): CofferError {
  const { code, retryable, reason } = classifyStartFailure(log)
  return new CofferError(code, `${engine} of instance ${instanceId} exited while starting: ${reason}.`, { retryable, details: log })
}

/** The engine is alive but did not become ready within `seconds`. */
export function engineNotReady(engine: string, instanceId: string, seconds: number, log: string): CofferError {
  return new CofferError('ENGINE_START_TIMEOUT', `${engine} of instance ${instanceId} was not ready after ${seconds} s.`, { details: log })
}

/** A throwaway engine (run once to read a catalog from it) exited or was not ready in time. */
export function throwawayFailed(what: string, exited: boolean, log: string): CofferError {
  if (!exited) return new CofferError('ENGINE_START_TIMEOUT', `the throwaway ${what} was not ready in 60 s`, { details: log })
  const { code, retryable } = classifyStartFailure(log)
  return new CofferError(code, `the throwaway ${what} exited`, { retryable, details: log })
}

/**
 * A process could not be started at all. A missing or non-executable binary stays so until
 * someone installs it; anything else (out of processes, say) may pass.
 */
export function spawnFailed(command: string, err: unknown): CofferError {
  const errno = (err as NodeJS.ErrnoException | null)?.code
  if (errno === 'ENOENT' || errno === 'EACCES') {
    return new CofferError('BINARY_MISSING', `The engine binary is not installed or not executable on this node.`, { retryable: false, cause: err, details: `${command}: ${errno}` })
  }
  return new CofferError('ENGINE_START_FAILED', 'The engine process could not be started.', { cause: err, details: `${command}: ${errno ?? String(err)}` })
}

/**
 * A tool run to completion (initdb, an installer) failed. Its output, which may name host paths,
 * goes to details; a cancel (AbortError) passes through unchanged.
 */
export function toolFailed(tool: string, err: unknown): unknown {
  const e = (err ?? {}) as { code?: unknown; name?: unknown; stderr?: unknown; stdout?: unknown }
  if (e.name === 'AbortError') return err
  if (e.code === 'ENOENT' || e.code === 'EACCES') return spawnFailed(tool, err)
  const output = [e.stderr, e.stdout].filter((x): x is string => typeof x === 'string' && x.trim() !== '').join('\n').trim()
  const details = output ? output.split('\n').slice(-15).join('\n') : String(err)
  const found = classifyStartFailure(details)
  // A tool listens on no port: only lasting causes that fit it are kept.
  const { code, retryable } = found.code === 'PORT_IN_USE' ? UNKNOWN : found
  return new CofferError(code, `${basename(tool)} failed.`, { retryable, cause: err, details })
}

/** The engine process outlived every stop signal. */
export function engineWouldNotStop(engine: string, instanceId: string, pid: number): CofferError {
  return new CofferError('ENGINE_STOP_FAILED', `${engine} of instance ${instanceId} did not exit even after SIGKILL.`, { details: `pid ${pid}` })
}

/** Start or status asked of an instance whose data folder was never made. */
export function notPrepared(engine: string, instanceId: string): CofferError {
  return new CofferError('ENGINE_NOT_PREPARED', `Instance ${instanceId} has no ${engine} data folder; prepare it first.`, { retryable: false })
}

/** An engine runs on a volume the guest has no record of preparing: never overwrite it. */
export function unrecordedEngine(engine: string, instanceId: string, pid: number): CofferError {
  return new CofferError('ENGINE_STATE_CONFLICT', `Instance ${instanceId} has a running ${engine} but no record of its data folder.`, { retryable: false, details: `pid ${pid}` })
}

/**
 * The service login failed. A refused password cannot heal by retrying; an engine that does not
 * answer (stopped, still starting) may. Errors that are neither pass through unchanged.
 */
export function serviceLoginFailed(engine: string, instanceId: string, err: unknown, kind: 'refused' | 'unreachable' | 'other'): unknown {
  if (err instanceof CofferError || kind === 'other') return err
  const detail = err instanceof Error ? err.message : String(err)
  if (kind === 'refused') {
    return new CofferError('ENGINE_AUTH_FAILED', `${engine} of instance ${instanceId} refuses Coffer's service login.`, { retryable: false, cause: err, details: detail })
  }
  return new CofferError('ENGINE_UNREACHABLE', `${engine} of instance ${instanceId} does not answer on its socket.`, { cause: err, details: detail })
}
