// state-schema.ts - the state database's versions, registered from the top:
// each part's tables (the ingest's events and nonces, the transaction
// pipeline, the reporter's job map and reports, the supervisor's claims, the
// users database) in the order they were released. src/state applies them
// (openDb) and knows none of the parts.
import { INGEST_SCHEMA_V1 } from '../reporter/ingest/schema.js';
import { REPORTER_SCHEMA_V1 } from '../reporter/schema.js';
import { META_SCHEMA_V1, type Migration } from '../state/migrations.js';
import { SUPERVISOR_SCHEMA_V2 } from '../supervisor/schema.js';
import { TX_SCHEMA_V1 } from '../txpipeline/schema.js';
import { USERDB_HOSTS_SCHEMA_V4, USERDB_SCHEMA_V3 } from '../userdb/schema.js';

export const STATE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'ingest events and nonces, job map, reports, transaction pipeline',
    statements: [...META_SCHEMA_V1, ...INGEST_SCHEMA_V1, ...TX_SCHEMA_V1, ...REPORTER_SCHEMA_V1],
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
  {
    version: 4,
    name: 'hosts that pull the users database of resolver "gridlink" (listed, version, last seen)',
    statements: [...USERDB_HOSTS_SCHEMA_V4],
  },
];

/** The schema version this build writes (the last migration's). */
export const STATE_SCHEMA_VERSION = STATE_MIGRATIONS[STATE_MIGRATIONS.length - 1]!.version;
