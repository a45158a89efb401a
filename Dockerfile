# The ebpf-sensor image (used by docker-compose.yml): Debian bookworm with Node.js 20.
#
# Build time: scripts/setup.sh installs what the sensor needs (clang, llvm, libbpf-dev,
# bpftool…), the npm dependencies, the N-API addon and the TypeScript, exactly as on a host.
# Start time: scripts/setup.sh --build-only builds the BPF objects against the BTF of the
# kernel it runs on (/sys/kernel/btf mounted from the host; make skips what is up to date),
# then the CLI starts. Run it privileged with the host's PID namespace (see docker-compose.yml).
FROM node:20-bookworm

WORKDIR /opt/ebpf-sensor
# Not NODE_ENV=production: the build needs the devDependencies (typescript, node-gyp).
ENV DEBIAN_FRONTEND=noninteractive

COPY . .

# apt lists are empty in the base image; setup.sh installs only what is missing.
RUN apt-get update -q \
 && sh scripts/setup.sh \
 && rm -rf /var/lib/apt/lists/*

ENTRYPOINT ["sh", "-c", "sh scripts/setup.sh --build-only && exec node bin/ebpf-sensor.js \"$@\"", "ebpf-sensor"]
CMD ["run"]
