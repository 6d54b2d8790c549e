/**
 * Takes passwords out of engine log text before it leaves the node (a published guest log). An
 * engine logging every statement logs `ALTER ROLE ... PASSWORD '...'`, `CREATE USER ... IDENTIFIED
 * BY '...'` and `ACL SETUSER ... >...` as they were sent, whoever sent them: a client's own session
 * as much as Coffer's. Engine-agnostic: the patterns are the SQL and Redis ways of giving one.
 */

const REDACTED = "'***'"

// A quoted literal in any of the forms the engines take: '..' with '' or \ escapes, E'..', "..", $tag$..$tag$.
const LITERAL = String.raw`E?'(?:[^'\\]|\\[\s\S]|'')*'|"(?:[^"\\]|\\[\s\S]|"")*"|\$(\w*)\$[\s\S]*?\$\3\$`

/** `PASSWORD 'x'`, `PASSWORD = 'x'`, `PASSWORD('x')`, `IDENTIFIED BY [PASSWORD] 'x'`, `USING 'x'` / `USING PASSWORD('x')`. */
const SQL_SECRET = new RegExp(String.raw`\b(PASSWORD|IDENTIFIED\s+BY|USING)(\s*(?:=\s*)?(?:PASSWORD\s*)?\(?\s*)(?:${LITERAL})`, 'gi')

/** What is left of one cut short (a literal the log split): the rest of its line. */
const SQL_SECRET_CUT = /\b(PASSWORD|IDENTIFIED\s+BY)(\s*(?:=\s*)?(?:PASSWORD\s*)?\(?\s*)(?!'\*\*\*')E?['"$][^\n]*/gi

/** Redis: `ACL SETUSER u ... >pass` / `#hash`, `AUTH [user] pass`, `HELLO n AUTH user pass`, `requirepass x`. */
const REDIS_SECRETS: readonly [RegExp, string][] = [
  [/(\bACL"?\s+"?SETUSER\b[^\n]*)/gi, ''],
  [/(\bAUTH"?\s+)("?[^\s"]+"?)(\s+"?[^\s"]+"?)?/gi, ''],
  [/(\brequirepass"?\s+)("?[^\s"]+"?)/gi, ''],
]

function redactRedis(text: string): string {
  let out = text
  // Every `>secret` or `#hash` rule of an ACL SETUSER line.
  out = out.replace(REDIS_SECRETS[0]![0], (line) => line.replace(/(\s"?)[>#<!][^\s"]*/g, `$1${REDACTED}`))
  out = out.replace(REDIS_SECRETS[1]![0], (_m, head: string, first: string, second?: string) => (second ? `${head}${first} ${REDACTED}` : `${head}${REDACTED}`))
  out = out.replace(REDIS_SECRETS[2]![0], (_m, head: string) => `${head}${REDACTED}`)
  return out
}

/** The text with every password literal replaced by `'***'`. */
export function redactSecrets(text: string): string {
  const sql = text.replace(SQL_SECRET, (_m, word: string, between: string) => `${word}${between}${REDACTED}`).replace(SQL_SECRET_CUT, `$1$2${REDACTED}`)
  return redactRedis(sql)
}
