// slurm-gyp.cjs - which libslurm binding.gyp builds gridlink_slurm.so against
// (the spool and munge addon, gridlink.node, never needs it). Prints what gyp
// asks for, one item a line:
//   node slurm-gyp.cjs enabled   1 when SLURM's headers are there, else 0
//   node slurm-gyp.cjs cflags    -I<prefix>/include for GRIDLINK_SLURM_PREFIX
//   node slurm-gyp.cjs libs      -lslurm (with -L and an rpath for a prefix)
// The SLURM: GRIDLINK_SLURM_PREFIX=<install prefix> (include/slurm/slurm.h,
// lib/libslurm.so), else the system's (libslurm-dev: /usr/include/slurm).
// GRIDLINK_SLURM=off builds without the SLURM module.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const prefix = process.env.GRIDLINK_SLURM_PREFIX || '';
const off = /^(0|off|no|false)$/i.test(process.env.GRIDLINK_SLURM || '');
const include = prefix ? join(prefix, 'include') : '/usr/include';
const found = existsSync(join(include, 'slurm', 'slurm.h')) && existsSync(join(include, 'slurm', 'slurm_version.h'));
const enabled = found && !off;

const what = process.argv[2];
if (what === 'enabled') {
  if (!found && !off) {
    process.stderr.write(
      `gridlink: no SLURM headers in ${include}/slurm: building without the SLURM module (gridlink_slurm.so); ` +
        `the spool and munge addon builds as usual. For the local SLURM backend install libslurm-dev of your SLURM release, ` +
        `or set GRIDLINK_SLURM_PREFIX=<its install prefix>, and rebuild.\n`,
    );
  }
  console.log(enabled ? 1 : 0);
} else if (what === 'cflags') {
  if (enabled && prefix) console.log(`-I${include}`);
} else if (what === 'libs') {
  if (enabled && prefix) {
    const lib = join(prefix, 'lib');
    console.log(`-L${lib}`);
    console.log(`-Wl,-rpath,${lib}`);
  }
  if (enabled) console.log('-lslurm');
} else {
  process.stderr.write('usage: node slurm-gyp.cjs enabled|cflags|libs\n');
  process.exit(2);
}
