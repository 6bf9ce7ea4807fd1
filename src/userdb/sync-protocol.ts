// sync-protocol.ts - how a host's relay gets the users database from the
// supervisor and says which version it holds. One definition for both sides.
//
//   POST <usersUrl>/v1/users
//   X-Gridlink-Auth: munge <credential>   (as the relay's events: munge_encode of
//                                          the sha256 hex of the body, uid 0 or SlurmUser)
//   body (JSON): { "host": "node001", "have": 12, "waitMs": 25000 }
//                have: the version this host holds (0: none); waitMs (optional, <= 60 s):
//                when `have` is current, hold the answer until a newer version is
//                written or waitMs passes (a long poll: a new customer reaches the
//                hosts as soon as it is written, without polling every second)
//
// Answers:
//   200  the whole users database file (application/octet-stream), its version in
//        X-Gridlink-Users-Version; the relay checks it and renames it into place
//   204  `have` is the current version: nothing to do (X-Gridlink-Users-Version too)
//   400  a body that is not the JSON above
//   401 / 403 / 503  authentication refused or not possible now: retried later
// Each request is also the host's report: the supervisor remembers, per host,
// the version it said it held at its last request; after a 200 the relay asks
// again at once, saying it holds the new version.
import { z } from 'zod';

export const USERS_SYNC_PATH = '/v1/users';
export const USERS_VERSION_HEADER = 'x-gridlink-users-version';

export const usersPullSchema = z
  .object({
    host: z.string().min(1).max(255).regex(/^[A-Za-z0-9._-]+$/),
    have: z.number().int().min(0),
    waitMs: z.number().int().min(0).max(60_000).optional(),
  })
  .strict();
export type UsersPull = z.infer<typeof usersPullSchema>;
