// The throwaway PostgreSQL cluster scripts/test starts (JOEY_TEST_POSTGRES_URL, a
// superuser URL), for end-to-end tests that run joeyd on PostgreSQL. Without the
// variable such tests skip — unless JOEY_REQUIRE_POSTGRES=1, when they fail — exactly as
// the C++ storage tests do (tests/support/test_database.h).

import {execFile} from 'node:child_process';
import {randomBytes} from 'node:crypto';

export const postgresUrl = process.env.JOEY_TEST_POSTGRES_URL ?? '';
export const postgresMissing = postgresUrl || process.env.JOEY_REQUIRE_POSTGRES === '1' ?
    false :
    'JOEY_TEST_POSTGRES_URL is not set (scripts/test-postgres start DIR prints one)';

// `url` with another database name.
export function withDatabase(url, database) {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

// Runs one SQL statement as the cluster's superuser; resolves to psql's unaligned output.
export function psql(sql, url = postgresUrl) {
  if (!url) return Promise.reject(new Error('JOEY_REQUIRE_POSTGRES=1 but JOEY_TEST_POSTGRES_URL is unset'));
  return new Promise((resolve, reject) => {
    execFile('psql', [url, '-v', 'ON_ERROR_STOP=1', '-Atc', sql], {timeout: 30_000}, (error, stdout, stderr) => {
      if (error) reject(new Error(`psql failed: ${stderr || error.message}`));
      else resolve(stdout.trim());
    });
  });
}

// A fresh database; resolves to {url, drop()}. joeyd migrates it as the superuser and
// serves it as its least-privilege role (one-URL mode, docs/storage.md).
export async function createDatabase(prefix) {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await psql(`CREATE DATABASE ${name}`);
  return {
    url: withDatabase(postgresUrl, name),
    name,
    drop: () => psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}
