/** A minimal Trove API client for tests: raw status and body, so tests can assert on both. */
export interface Reply {
  readonly status: number
  readonly body: any
  readonly headers: Headers
}

export class TestClient {
  token = ''
  projectId = ''

  constructor(readonly url: string) {}

  async login(user: string, password: string, project = user): Promise<Reply> {
    const r = await this.raw('POST', '/v3/auth/tokens', {
      auth: { identity: { methods: ['password'], password: { user: { name: user, domain: { name: 'Default' }, password } } }, scope: { project: { name: project, domain: { name: 'Default' } } } },
    })
    if (r.status === 201) {
      this.token = r.headers.get('x-subject-token') ?? ''
      this.projectId = r.body.token.project.id
    }
    return r
  }

  /** A call under `/v1.0/{project}`. */
  api(method: string, path: string, body?: unknown): Promise<Reply> {
    return this.raw(method, `/v1.0/${this.projectId}${path}`, body)
  }

  async raw(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(this.token ? { 'x-auth-token': this.token } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
  }

  /** Polls an instance until `done` says so; fails with the last body after `timeoutMs`. */
  async waitFor(id: string, done: (r: Reply) => boolean, timeoutMs = 90_000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs
    let r: Reply
    do {
      r = await this.api('GET', `/instances/${id}`)
      if (done(r)) return r
      await new Promise((res) => setTimeout(res, 100))
    } while (Date.now() < deadline)
    throw new Error(`instance ${id} did not get there in time; last: ${r.status} ${JSON.stringify(r.body)}`)
  }

  waitActive(id: string): Promise<Reply> {
    return this.waitFor(id, (r) => r.body?.instance?.status === 'ACTIVE' || r.body?.instance?.status === 'ERROR')
  }

  /** Polls a backup until it is no longer running (NEW, BUILDING, SAVING); resolves with it. */
  async waitBackup(id: string, timeoutMs = 120_000): Promise<any> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const b = (await this.api('GET', `/backups/${id}`)).body?.backup
      if (b && !['NEW', 'BUILDING', 'SAVING'].includes(b.status)) return b
      if (Date.now() > deadline) throw new Error(`backup ${id} did not end in time; last: ${JSON.stringify(b)}`)
      await new Promise((res) => setTimeout(res, 200))
    }
  }

  waitGone(id: string): Promise<Reply> {
    return this.waitFor(id, (r) => r.status === 404)
  }
}

export const pgCreateBody = (name: string, extra: Record<string, unknown> = {}) => ({
  instance: {
    name,
    flavorRef: '1',
    volume: { size: 1 },
    datastore: { type: 'postgresql', version: '15' },
    ...extra,
  },
})
