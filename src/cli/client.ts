/**
 * A small REST client for Coffer's (Trove's) API: logs in with Keystone v3, finds the `database`
 * endpoint in the catalog, and turns fault bodies into errors that carry Trove's message.
 */
import type { Credentials } from './credentials.js'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

export class CofferClient {
  #token: string | undefined
  #endpoint: string | undefined

  constructor(readonly credentials: Credentials) {}

  async login(): Promise<void> {
    const c = this.credentials
    const body = {
      auth: {
        identity: { methods: ['password'], password: { user: { name: c.username, password: c.password, domain: { name: c.userDomainName } } } },
        scope: { project: { name: c.projectName, domain: { name: c.projectDomainName } } },
      },
    }
    const res = await send(`${c.authUrl.replace(/\/$/, '')}/auth/tokens`, { method: 'POST', body })
    this.#token = res.headers.get('x-subject-token') ?? undefined
    const catalog = ((await res.json()) as { token: { catalog: { type: string; endpoints: { interface: string; url: string }[] }[] } }).token.catalog
    this.#endpoint = catalog.find((s) => s.type === 'database')?.endpoints.find((e) => e.interface === 'public')?.url
    if (!this.#token || !this.#endpoint) throw new Error(`${c.authUrl} did not return a token with a database endpoint`)
  }

  async request<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    if (!this.#token) await this.login()
    return this.#call<T>(`${this.#endpoint}${path}`, method, body)
  }

  /** A Keystone v3 call, `path` under the auth URL (`/projects`). */
  async identity<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    if (!this.#token) await this.login()
    return this.#call<T>(`${this.credentials.authUrl.replace(/\/$/, '')}${path}`, method, body)
  }

  async #call<T>(url: string, method: string, body: unknown): Promise<T> {
    const res = await send(url, { method, body, token: this.#token })
    const text = await res.text()
    return (text ? JSON.parse(text) : undefined) as T
  }
}

async function send(url: string, o: { method: string; body?: unknown; token?: string | undefined }): Promise<Response> {
  let res: Response
  try {
    res = await fetch(url, {
      method: o.method,
      headers: { accept: 'application/json', ...(o.body === undefined ? {} : { 'content-type': 'application/json' }), ...(o.token ? { 'x-auth-token': o.token } : {}) },
      ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }),
    })
  } catch (err) {
    throw new Error(`cannot reach ${new URL(url).origin}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}. Is \`coffer serve\` running?`)
  }
  if (res.ok) return res
  const text = await res.text()
  let message = text
  try {
    const fault = Object.values(JSON.parse(text) as Record<string, { message?: string }>)[0]
    message = fault?.message ?? text
  } catch {
    // not JSON: keep the text
  }
  throw new ApiError(res.status, `${message} (HTTP ${res.status})`)
}
