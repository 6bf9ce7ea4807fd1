// schema.ts - the customers' users of resolver "gridlink" in the state
// database (migration 3). One row per customer, never deleted and never
// changed: a uid is handed out once (meta 'userdb.next_uid' only grows), so a
// uid is never reused, whatever happens to the customer. db_version: the
// first version of the users database file that holds the user (NULL until a
// file holding it is written); meta 'userdb.version' is the last version
// written.
export const USERDB_SCHEMA_V3: readonly string[] = [
  `CREATE TABLE gridlink_users (
     name TEXT PRIMARY KEY CHECK (length(name) = 42 AND name GLOB '0x[0-9a-f]*' AND name NOT GLOB '0x*[^0-9a-f]*'),
     uid INTEGER NOT NULL UNIQUE CHECK (uid > 0),
     gid INTEGER NOT NULL CHECK (gid > 0),
     db_version INTEGER,
     created_at INTEGER NOT NULL
   ) STRICT`,
  `CREATE INDEX gridlink_users_unpublished ON gridlink_users (name) WHERE db_version IS NULL`,
];

/**
 * Migration 4: the hosts that pull the users database (src/userdb/host-reports.ts).
 * listed: 1 when the supervisor's users.gridlink.sync.hosts names it (set at
 * each start); version/last_seen: what its relay said at its last request
 * (NULL: never asked); times in unix ms.
 */
export const USERDB_HOSTS_SCHEMA_V4: readonly string[] = [
  `CREATE TABLE gridlink_user_hosts (
     host TEXT PRIMARY KEY CHECK (length(host) BETWEEN 1 AND 255),
     listed INTEGER NOT NULL DEFAULT 0 CHECK (listed IN (0, 1)),
     version INTEGER CHECK (version >= 0),
     first_seen INTEGER,
     last_seen INTEGER
   ) STRICT`,
];
