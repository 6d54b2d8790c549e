/**
 * The server's log: pino, so machines get one JSON object a line (`--log-format json`) and people
 * get readable lines (`pretty`, the default on a terminal). Every line is one event: an API
 * mutation, a task's start, end or failure, or what the roles report. Never bodies or secrets:
 * callers pass ids, names and status codes only.
 */
import { chmodSync, closeSync, openSync } from 'node:fs'
import { Writable } from 'node:stream'
import { pino, type DestinationStream, type Logger } from 'pino'

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]
export type LogFormat = 'json' | 'pretty'

/** A log call with optional fields (instance, task, status...) that JSON lines carry as keys. */
export type Log = (msg: string, fields?: Readonly<Record<string, unknown>>) => void

export interface LogOptions {
  readonly level: LogLevel
  readonly format: LogFormat
  /** A file to append to (made or narrowed to 0600: the log is Coffer's user's only); stderr when absent. */
  readonly file?: string
}

export function createLogger(o: LogOptions): Logger {
  const out = o.file ? ownerOnlyFile(o.file) : pino.destination({ dest: 2, sync: true })
  const dest: DestinationStream = o.format === 'pretty' ? prettyLines(out) : out
  return pino({ level: o.level, base: null, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } }, dest)
}

/** The plain `(msg, fields)` function the roles take, at `info`. */
export const logAtInfo = (logger: Logger): Log => (msg, fields) => (fields ? logger.info(fields, msg) : logger.info(msg))

function ownerOnlyFile(path: string): DestinationStream {
  closeSync(openSync(path, 'a', 0o600))
  // An older file may have been made with a wider mode; a log can hold instance names and errors.
  chmodSync(path, 0o600)
  return pino.destination({ dest: path, sync: true, append: true })
}

/** `2026-11-29T15:00:00.000Z INFO  message key=value ...` from pino's JSON lines. */
function prettyLines(out: DestinationStream): DestinationStream {
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line) out.write(`${pretty(line)}\n`)
      }
      done()
    },
  })
  return w as unknown as DestinationStream
}

export function pretty(line: string): string {
  try {
    const { time, level, msg, ...rest } = JSON.parse(line) as Record<string, unknown>
    const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    return [String(time ?? ''), String(level ?? '').toUpperCase().padEnd(5), String(msg ?? ''), ...fields].filter((x) => x !== '').join(' ')
  } catch {
    return line
  }
}

/** `--log-level`, `--log-format`, `--log-file` over COFFER_LOG_LEVEL, COFFER_LOG_FORMAT, COFFER_LOG_FILE. */
export function resolveLogOptions(flags: { logLevel?: string; logFormat?: string; logFile?: string }, env: NodeJS.ProcessEnv, onTerminal: boolean): LogOptions {
  const level = flags.logLevel ?? env.COFFER_LOG_LEVEL ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not ${level}`)
  const file = flags.logFile ?? env.COFFER_LOG_FILE
  // Readable lines for a person at a terminal; JSON for whatever collects the output otherwise.
  const format = flags.logFormat ?? env.COFFER_LOG_FORMAT ?? (onTerminal && !file ? 'pretty' : 'json')
  if (format !== 'json' && format !== 'pretty') throw new Error(`--log-format must be json or pretty, not ${format}`)
  return { level: level as LogLevel, format, ...(file ? { file } : {}) }
}
