// state-db.ts - a state database with the tables the users database part
// uses (meta, gridlink_users and gridlink_user_hosts), for this part's tests.
import { openDb, type Db } from '../../src/state/db.js';
import { USERDB_HOSTS_SCHEMA_V4, USERDB_SCHEMA_V3 } from '../../src/userdb/schema.js';

export function openUserDb(path: string): Db {
  return openDb(path, {
    migrations: [{ version: 1, name: 'meta and the users of resolver "gridlink"', statements: ['CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT', ...USERDB_SCHEMA_V3, ...USERDB_HOSTS_SCHEMA_V4] }],
  });
}
