// index.ts - gridlink/spool: the spool reader and writer, job events and the
// addon loader (library entry point).
export { SpoolReader, SpoolWriter, WireRecords, type SpoolRecord, type UndecodableRecord, type SpoolStat, type EventInput } from './spool.js';
export { EventKind, eventKindName, toJobEvent, eventToJson, type JobEvent, type Tres, type SpoolPosition } from './event.js';
export { decodeBytes, encodeBytes } from './bytes.js';
export { loadAddon, packageRoot } from './addon.js';
export { loadSlurmAddon, slurmAddonPath, type SlurmAddon } from './slurm-addon.js';
export { mungeEncode, mungeDecode, type MungeDecoded } from './munge.js';
