import { TestClient } from './api-client.js'
import { ADMIN_PASSWORD, startCoffer, type CofferProcess } from './coffer-process.js'

/** A fresh `coffer serve` and a client logged in as its admin, which most tests start with. */
export async function startCofferAsAdmin(env: Record<string, string> = {}): Promise<{ coffer: CofferProcess; api: TestClient }> {
  const coffer = await startCoffer(env)
  const api = new TestClient(coffer.url)
  const r = await api.login('admin', ADMIN_PASSWORD, 'admin')
  if (r.status !== 201) throw new Error(`admin login failed: ${r.status} ${JSON.stringify(r.body)}`)
  return { coffer, api }
}
