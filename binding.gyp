{
  "targets": [
    {
      "target_name": "gridlink",
      "sources": [
        "native/addon/addon.cc",
        "native/addon/gl_munge.cc",
        "native/addon/gl_slurm.cc",
        "native/gl_crc32c.c",
        "native/gl_event.c",
        "native/gl_spool_meta.c",
        "native/gl_spool_writer.c",
        "native/gl_spool_reader.c"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "_GNU_SOURCE"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_c": ["-std=c11"],
      "cflags_cc": ["-std=c++17", "-fexceptions"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-lpthread", "-lmunge", "-lslurm"]
    }
  ]
}
