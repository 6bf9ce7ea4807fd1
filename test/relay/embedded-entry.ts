// embedded-entry.ts - loads src/relay/embedded.ts the way the embedded runtime
// does (options in argv), then stops it through globalThis.__gridlinkRelayStop
// once the parent says so on stdin. Run by embedded.test.ts.
process.argv.splice(2, process.argv.length, ...JSON.parse(process.env.GL_RELAY_ARGV ?? '[]'));
await import('../../src/relay/embedded.js');
process.stdout.write(`loaded ${typeof globalThis.__gridlinkRelayStop}\n`);
process.stdin.once('data', () => {
  void globalThis.__gridlinkRelayStop?.().then(() => process.stdout.write('stopped\n'));
});
