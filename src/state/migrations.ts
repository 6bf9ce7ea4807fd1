// migrations.ts - the versioned schema of the state database, in order.
// Each version is applied once, in one transaction, and recorded in
// PRAGMA user_version. Never edit a released version: append a new one.
// Each part of the process owns the statements of its own tables, kept next
// to the code that uses them.
import { INGEST_SCHEMA_V1 } from '../reporter/ingest/schema.js';
import { REPORTER_SCHEMA_V1 } from '../reporter/schema.js';
import { SUPERVISOR_SCHEMA_V2 } from '../supervisor/schema.js';
import { TX_SCHEMA_V1 } from '../txpipeline/schema.js';
import { USERDB_SCHEMA_V3 } from '../userdb/schema.js';

export interface Migration {
  version: number;
  name: string;
  statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'ingest events and nonces, job map, reports, transaction pipeline',
    statements: [
      `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT`,
      ...INGEST_SCHEMA_V1,
      ...TX_SCHEMA_V1,
      ...REPORTER_SCHEMA_V1,
    ],
  },
  {
    version: 2,
    name: 'supervisor claims, cancellations and top-ups',
    statements: [...SUPERVISOR_SCHEMA_V2],
  },
  {
    version: 3,
    name: 'customers\' users of resolver "gridlink" (uids, database versions)',
    statements: [...USERDB_SCHEMA_V3],
  },
];
