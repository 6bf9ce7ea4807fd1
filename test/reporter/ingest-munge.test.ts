// The ingest endpoint with real munged: accepted batches are durable and
// deduplicated; forged input is refused (401/403), logged without the body,
// and leaves the store untouched.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { ensureMunge } from '../../harness/cluster/munge.js';
import { mungeEncode } from '../../src/native/munge.js';
import { ingestResultSchema } from '../../src/relay/protocol.js';
import {
  batchBody,
  mungeHeader,
  mungeHeaderAs,
  newSpoolId,
  post,
  sha256hex,
  startTestServer,
  storedRecords,
  storedCount,
  tempDir,
  wireEvent,
  type TestServer,
} from './helpers.js';

const MARKER = 'BODY-MARKER-7f3a9c';

let t: TestServer;
let cleanup: () => void;

beforeAll(async () => {
  await ensureMunge();
  const d = tempDir();
  cleanup = d.cleanup;
  t = await startTestServer(d.dir);
});
afterAll(async () => {
  await t?.stop();
  cleanup?.();
});

describe('accepted batches', () => {
  it('stores a munge-authenticated batch durably and answers 200', async () => {
    const spoolId = newSpoolId();
    // a non-UTF-8 byte travels as a lone surrogate and must be stored as-is
    const events = [wireEvent(1), wireEvent(2, { jobName: 'caf\u00e9 \udcff', comment: 'x\n"y"' }), wireEvent(3)];
    const body = batchBody(spoolId, events);
    const commitsBefore = t.server.store.counts().commits;
    const r = await post(t.url, body, await mungeHeader(body));
    expect(r.status).toBe(200);
    expect(ingestResultSchema.parse(r.json)).toEqual({ stored: 3, duplicates: 0, rejected: [] });
    // committed when the answer arrives (another connection sees it), in one transaction for the batch
    expect(t.server.store.counts().commits).toBe(commitsBefore + 1);
    const lines = storedRecords(t.storeDir).filter((l) => l.spoolId === spoolId);
    expect(lines.map((l) => l.seq)).toEqual(['1', '2', '3']);
    expect(lines[0]).toMatchObject({ host: 'node1', daemon: 'slurmd', event: events[0] });
    expect((lines[1]!.event as { jobName: string }).jobName).toBe('caf\u00e9 \udcff');
    expect((lines[1]!.event as { comment: string }).comment).toBe('x\n"y"');
    expect(typeof lines[0]!.receivedAt).toBe('number');
    expect(t.server.store.has(spoolId, '2')).toBe(true);
    expect(t.server.store.has(spoolId, '4')).toBe(false);
  });

  it('answers the same records again as duplicates and stores them once', async () => {
    const spoolId = newSpoolId();
    const body = batchBody(spoolId, [wireEvent(10), wireEvent(11)]);
    expect((await post(t.url, body, await mungeHeader(body))).json).toEqual({ stored: 2, duplicates: 0, rejected: [] });
    const count = storedCount(t.storeDir);
    // a relay retry: same records, fresh credential
    const again = batchBody(spoolId, [wireEvent(10), wireEvent(11), wireEvent(12)]);
    const r = await post(t.url, again, await mungeHeader(again));
    expect(r).toEqual({ status: 200, json: { stored: 1, duplicates: 2, rejected: [] } });
    const lines = storedRecords(t.storeDir).filter((l) => l.spoolId === spoolId);
    expect(lines.map((l) => l.seq)).toEqual(['10', '11', '12']);
    expect(storedCount(t.storeDir)).toBe(count + 1);
  });

  it('serves /healthz and refuses other paths and methods', async () => {
    const h = await fetch(`${t.url}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toMatchObject({ ok: true });
    expect((await fetch(`${t.url}/v1/nope`, { method: 'POST', body: '{}' })).status).toBe(404);
    const g = await fetch(`${t.url}/v1/events`);
    expect(g.status).toBe(405);
    expect(g.headers.get('allow')).toBe('POST');
  });
});

describe('forged input: refused, logged, stored nowhere', () => {
  let spoolId: string;
  let body: Buffer;
  let countBefore: number;
  let recordsBefore: number;
  let logsBefore: number;

  beforeEach(() => {
    spoolId = newSpoolId();
    body = batchBody(spoolId, [wireEvent(1, { comment: MARKER }), wireEvent(2)]);
    countBefore = storedCount(t.storeDir);
    recordsBefore = t.server.store.counts().records;
    logsBefore = t.logs.lines.length;
  });

  async function expectRefused(auth: string | undefined, status: number, reason: string, sendBody = body): Promise<void> {
    const r = await post(t.url, sendBody, auth);
    expect(r.status).toBe(status);
    expect(r.json).toMatchObject({ error: reason });
    const refused = t.logs.lines.slice(logsBefore).filter((l) => l.msg === 'ingest: request refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ status, reason, level: 40 });
    expect(refused[0]!.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(t.logs.text()).not.toContain(MARKER);
    expect(storedCount(t.storeDir)).toBe(countBefore);
    expect(t.server.store.counts().records).toBe(recordsBefore);
    expect(t.server.store.has(spoolId, '1')).toBe(false);
  }

  it('no credential: 401', async () => {
    await expectRefused(undefined, 401, 'missing_header');
  });

  it('garbage credential: 401', async () => {
    await expectRefused('munge MUNGE:AwQFAABu18FkYtoDtyoITGWOgarbagegarbage:', 401, 'bad_credential');
  });

  it('malformed header and unknown scheme: 401', async () => {
    await expectRefused('munge not-a-credential', 401, 'malformed_header');
    logsBefore = t.logs.lines.length;
    await expectRefused('Bearer abc', 401, 'malformed_header');
  });

  it('a credential made by a non-root user (nobody): 403', async () => {
    await expectRefused(mungeHeaderAs('nobody', body), 403, 'uid_not_allowed');
    const refused = t.logs.lines.slice(logsBefore).find((l) => l.msg === 'ingest: request refused');
    expect(refused).toMatchObject({ uid: 65534, mode: 'munge' });
  });

  it('a replayed credential (the exact same request twice): the second is 401', async () => {
    const auth = await mungeHeader(body);
    const first = await post(t.url, body, auth);
    expect(first.status).toBe(200);
    countBefore = storedCount(t.storeDir);
    recordsBefore = t.server.store.counts().records;
    logsBefore = t.logs.lines.length;
    const r = await post(t.url, body, auth);
    expect(r).toMatchObject({ status: 401, json: { error: 'replayed_credential' } });
    expect(storedCount(t.storeDir)).toBe(countBefore);
    expect(t.server.store.counts().records).toBe(recordsBefore);
    expect(t.logs.lines.slice(logsBefore).find((l) => l.msg === 'ingest: request refused')).toMatchObject({ reason: 'replayed_credential' });
  });

  it('a credential whose digest does not match the body (tampered body): 401', async () => {
    const auth = await mungeHeader(body);
    const tampered = Buffer.from(body.toString('utf8').replace('"jobId":1001', '"jobId":6666'));
    expect(tampered.equals(body)).toBe(false);
    await expectRefused(auth, 401, 'digest_mismatch', tampered);
  });

  it('a root credential over something else than the body digest: 401', async () => {
    const cred = await mungeEncode(sha256hex(body).toUpperCase());
    await expectRefused(`munge ${cred}`, 401, 'digest_mismatch');
  });

  it('counts auth failures by reason', async () => {
    const text = await t.server.registry.getSingleMetricAsString('gridlink_ingest_auth_failures_total');
    expect(text).toMatch(/reason="missing_header"} [1-9]/);
    expect(text).toMatch(/reason="uid_not_allowed"} [1-9]/);
    expect(text).toMatch(/reason="replayed_credential"} [1-9]/);
  });
});

describe('only uid 0 and SlurmUser', () => {
  it('accepts a credential of a uid given as SlurmUser', async () => {
    const d = tempDir();
    const s = await startTestServer(d.dir, { slurmUser: 'nobody' });
    try {
      const body = batchBody(newSpoolId(), [wireEvent(1)]);
      const r = await post(s.url, body, mungeHeaderAs('nobody', body));
      expect(r).toEqual({ status: 200, json: { stored: 1, duplicates: 0, rejected: [] } });
    } finally {
      await s.stop();
      d.cleanup();
    }
  });
});
