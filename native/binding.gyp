{
  "targets": [
    {
      "target_name": "ebpf_sensor",
      "sources": ["src/addon.c", "src/errors.c", "src/object.c", "src/maps.c", "src/ring.c", "src/abi.c", "src/probes.c", "src/stderr-shim.c", "src/crc32.c"],
      "include_dirs": ["../bpf/abi"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-format-truncation", "-fvisibility=hidden"],
      "libraries": ["-Wl,--exclude-libs,ALL", "-Wl,-Bstatic", "-lbpf", "-Wl,-Bdynamic", "-lelf", "-lz", "-lpthread", "-ldl"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS"]
    }
  ]
}
