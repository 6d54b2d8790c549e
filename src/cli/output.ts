import Table from 'cli-table3'

export interface OutputOptions {
  readonly json?: boolean
}

/** Rows as a table, or the raw API objects with --json. */
export function printList(rows: readonly Record<string, unknown>[], columns: readonly [string, (r: any) => unknown][], o: OutputOptions, raw: unknown = rows): void {
  if (o.json) return void console.log(JSON.stringify(raw, null, 2))
  const t = new Table({ head: columns.map(([h]) => h), style: { head: [], border: [] } })
  for (const r of rows) t.push(columns.map(([, f]) => cell(f(r))))
  console.log(t.toString())
}

/** One object as a Property/Value table, or raw with --json. */
export function printObject(obj: Record<string, unknown>, o: OutputOptions): void {
  if (o.json) return void console.log(JSON.stringify(obj, null, 2))
  const t = new Table({ head: ['Property', 'Value'], style: { head: [], border: [] } })
  for (const [k, v] of Object.entries(obj)) t.push([k, cell(v)])
  console.log(t.toString())
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return ''
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}
