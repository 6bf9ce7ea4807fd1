# Two Node-API modules (docs/slurm-versions.md, "The Node addon"):
#   gridlink.node       spool reader/writer and munge: no SLURM, loads anywhere
#   gridlink_slurm.so   the libslurm calls (native/addon/gl_slurm.cc) for the
#                       local SLURM backend, built for one SLURM release: the
#                       system's (libslurm-dev) or GRIDLINK_SLURM_PREFIX's;
#                       skipped where SLURM's headers are absent
#                       (native/addon/slurm-gyp.cjs). Named .so so that
#                       node-gyp-build picks gridlink.node and prebuildify
#                       copies it beside the prebuild; src/native/slurm-addon.ts
#                       loads it from there on first use.
{
  "variables": {
    "gl_slurm%": "<!(node native/addon/slurm-gyp.cjs enabled)"
  },
  "target_defaults": {
    "include_dirs": [
      "<!(node -p \"require('node-addon-api').include_dir\")",
      "native"
    ],
    "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "_GNU_SOURCE"],
    "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter"],
    "cflags_c": ["-std=c11"],
    "cflags_cc": ["-std=c++17", "-fexceptions"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions"]
  },
  "targets": [
    {
      "target_name": "gridlink",
      "sources": [
        "native/addon/addon.cc",
        "native/addon/gl_munge.cc",
        "native/gl_crc32c.c",
        "native/gl_event.c",
        "native/gl_spool_meta.c",
        "native/gl_spool_writer.c",
        "native/gl_spool_reader.c",
        "native/gl_wire_json.c"
      ],
      "libraries": ["-lpthread", "-lmunge"]
    }
  ],
  "conditions": [
    ["gl_slurm==1", {
      "targets": [
        {
          "target_name": "gridlink_slurm",
          # after addon.gypi's own target_conditions, which set "node"
          "target_conditions": [["_type=='loadable_module'", {"product_extension": "so"}]],
          "sources": ["native/addon/gl_slurm.cc"],
          "cflags": ["<!@(node native/addon/slurm-gyp.cjs cflags)"],
          "libraries": ["-lpthread", "<!@(node native/addon/slurm-gyp.cjs libs)"]
        }
      ]
    }]
  ]
}
