// migrations.ts - how the state database's schema is versioned: each
// Migration is applied once, in one transaction, and recorded in PRAGMA
// user_version. Never edit a released version: append a new one.
//
// Each part of the process owns the statements of its own tables, kept next
// to the code that uses them (reporter/ingest/schema.ts, txpipeline/schema.ts,
// ...). The list of versions is assembled at the top of the process, by the
// composition root (src/compose/state-schema.ts), which registers every
// part's schema: this layer, below them all, imports none of them.

export interface Migration {
  version: number;
  name: string;
  statements: readonly string[];
}

/** The database's own table: cursors and small settings (getMeta/setMeta in db.ts). */
export const META_SCHEMA_V1: readonly string[] = [`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT`];
