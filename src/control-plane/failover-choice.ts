/**
 * Whether an automatic failover may go ahead, as Pigsty's `pg_rpo` (Patroni's
 * `maximum_lag_on_failover`) decides it: a synchronous set whose source last said a replica
 * acknowledged its commits loses no acknowledged write; an asynchronous one only fails over to a
 * replica that lagged at most `maxLagBytes` by the last heartbeats. With the source dead nobody
 * can measure the lag any more: what counts is the most either side last reported (the replica's
 * own lag, and what the source said that replica had not flushed; the second sees a receiver that
 * is stuck, the first one that receives but does not replay).
 */
import type { ReplicationReport } from '../guest/protocol.js'

export type FailoverChoice = { readonly ok: true; readonly mayLose: 'sync' | number } | { readonly ok: false; readonly reason: string }

export interface Member {
  readonly id: string
  readonly report?: ReplicationReport | undefined
}

/** The bytes `replica` may miss, as last reported; undefined when nobody said. */
export function lagOf(source: ReplicationReport | undefined, replica: Member): number | undefined {
  const said = [replica.report?.lagBytes, source?.replicaLagBytes?.[replica.id]].filter((n): n is number => typeof n === 'number' && Number.isFinite(n))
  if (said.length > 0) return Math.max(...said)
  // An engine that counts no bytes (MariaDB across log files) but says it is not behind at all.
  return replica.report?.connected && replica.report.lagSeconds === 0 ? 0 : undefined
}

export function chooseFailover(o: { readonly sync: boolean; readonly source?: ReplicationReport | undefined; readonly replicas: readonly Member[]; readonly maxLagBytes: number }): FailoverChoice {
  if (o.sync && (o.source?.synchronous ?? 0) >= 1) return { ok: true, mayLose: 'sync' }
  const lags = o.replicas.map((r) => ({ id: r.id, lag: lagOf(o.source, r) }))
  const fit = lags.filter((l) => l.lag !== undefined && l.lag <= o.maxLagBytes).map((l) => l.lag!)
  if (fit.length > 0) return { ok: true, mayLose: Math.min(...fit) }
  const said = lags.map((l) => `${l.id}: ${l.lag === undefined ? 'lag unknown' : `${l.lag} bytes behind`}`).join(', ')
  return {
    ok: false,
    reason: `no replica was within ${o.maxLagBytes} bytes of the source by the last heartbeats (${said || 'no replica'}); promoting one could lose more acknowledged writes than the bound (COFFER_FAILOVER_MAX_LAG_BYTES) allows`,
  }
}
