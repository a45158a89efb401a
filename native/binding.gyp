{
  "targets": [
    {
      "target_name": "ebpf_sensor",
      "sources": ["src/addon.c"],
      "include_dirs": ["../bpf/abi"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-format-truncation", "-fvisibility=hidden"],
      "libraries": ["-lbpf", "-lelf", "-lz", "-lpthread"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS"]
    }
  ]
}
