import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { redactSecrets } from './redact-secrets.js'

describe('redactSecrets', () => {
  it('takes passwords out of SQL and Redis log lines and leaves the rest', () => {
    const cases: [string, string][] = [
      [`LOG:  statement: ALTER ROLE "a" PASSWORD 'x''y'`, `LOG:  statement: ALTER ROLE "a" PASSWORD '***'`],
      [`CREATE ROLE b LOGIN ENCRYPTED PASSWORD E'se\\'cret'`, `CREATE ROLE b LOGIN ENCRYPTED PASSWORD '***'`],
      [`ALTER ROLE c PASSWORD $$dollar$$`, `ALTER ROLE c PASSWORD '***'`],
      [`Query CREATE USER 'u'@'%' IDENTIFIED BY 'p\\'w'`, `Query CREATE USER 'u'@'%' IDENTIFIED BY '***'`],
      [`Query SET PASSWORD FOR u = PASSWORD("pw")`, `Query SET PASSWORD FOR u = PASSWORD('***')`],
      [`ALTER USER u IDENTIFIED VIA mysql_native_password USING PASSWORD('pw')`, `ALTER USER u IDENTIFIED VIA mysql_native_password USING PASSWORD('***')`],
      [`PASSWORD 'cut short`, `PASSWORD '***'`],
      [`"ACL" "SETUSER" "app" "on" ">s3cret" "~*"`, `"ACL" "SETUSER" "app" "on" '***'" "~*"`],
      [`SELECT 1`, `SELECT 1`],
    ]
    for (const [line] of cases) assert.doesNotMatch(redactSecrets(line), /x''y|se\\'cret|dollar|p\\'w|"pw"|'pw'|cut short|s3cret/, line)
    assert.equal(redactSecrets(cases[0]![0]), cases[0]![1])
    assert.equal(redactSecrets(cases[3]![0]), cases[3]![1])
    assert.equal(redactSecrets('SELECT 1\n'), 'SELECT 1\n')
  })
})
