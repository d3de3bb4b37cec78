import { ferretdbBackendFromEnv } from '../../tools/servers';
import { stackProfileFromEnv } from '../../tools/stack';

/**
 * Whether the suite's FerretDB stores in SQLite (FERRETDB_BACKEND, docs/ferretdb-backends.md): the tests of our
 * SQLite patches' plans and pushdown (explain) only mean something there; on the PostgreSQL backend the same
 * queries scan, and test/platform/ferretdb-postgresql.test.ts checks their answers.
 */
export const ferretdbOnSqlite = ferretdbBackendFromEnv(stackProfileFromEnv()) === 'sqlite';
