// A writer of the users database file that the test kills with SIGKILL:
// adds a user and publishes a new version, over and over
// (the test kills it when its temporary file appears).
import { openStateDb } from '../../src/compose/state-store.js';
import { UsersDbPublisher } from '../../src/userdb/publisher.js';
import { UserStore } from '../../src/userdb/store.js';

const [dbPath, file] = process.argv.slice(2) as [string, string];
const store = new UserStore(openStateDb(dbPath), { firstUid: 200_000, maxUid: 0x7ffffffe, homeRoot: '/home' });
const p = new UsersDbPublisher({ store, path: file, minUid: 1000, shell: '/bin/sh' });
for (let i = 0; ; i++) {
  store.ensure(`0x${(0xf00000 + process.pid * 1000 + i).toString(16).padStart(40, 'e')}`);
  await p.publish();
}
