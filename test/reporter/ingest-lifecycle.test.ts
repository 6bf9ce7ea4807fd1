// stop(): a request in flight when the server stops is still answered and
// stored; afterwards nothing listens.
import { request as httpRequest } from 'node:http';

import { describe, expect, it } from 'vitest';

import { ensureMunge } from '../../harness/cluster/munge.js';
import { AUTH_HEADER, INGEST_PATH } from '../../src/relay/protocol.js';
import { batchBody, mungeHeader, newSpoolId, post, startTestServer, storedRecords, tempDir, wireEvent } from './helpers.js';

describe('graceful stop', () => {
  it('answers and stores a batch whose body is still arriving when stop() is called', async () => {
    await ensureMunge();
    const d = tempDir();
    const t = await startTestServer(d.dir);
    try {
      const spoolId = newSpoolId();
      const body = batchBody(spoolId, [wireEvent(1), wireEvent(2)]);
      const auth = await mungeHeader(body);
      const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpRequest(
          `${t.url}${INGEST_PATH}`,
          { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length, [AUTH_HEADER]: auth } },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on('error', reject);
        req.write(body.subarray(0, 50));
        setTimeout(() => req.end(body.subarray(50)), 300);
      });
      await new Promise((r) => setTimeout(r, 100)); // the request is in flight
      let stopped = false;
      const stopping = t.server.stop(5000).then(() => (stopped = true));
      await new Promise((r) => setTimeout(r, 50));
      expect(stopped).toBe(false);
      const a = await answer;
      expect(a.status).toBe(200);
      expect(JSON.parse(a.text)).toEqual({ stored: 2, duplicates: 0, rejected: [] });
      await stopping;
      expect(storedRecords(d.dir).map((l) => l.seq)).toEqual(['1', '2']);
      await expect(post(t.url, body, auth)).rejects.toThrow();
    } finally {
      await t.stop();
      d.cleanup();
    }
  });
});
