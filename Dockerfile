# The ebpf-sensor image (used by docker-compose.yml and deploy/): slim, no compiler.
#
# Stage "build" (node:20-bookworm): the toolchain (scripts/setup.sh: clang, libbpf-dev, bpftool…)
# builds what the npm package ships, once: the CO-RE objects (bpf/Makefile; vmlinux.h from the
# build machine's BTF, or from a BTF file: --build-arg BTF=/path inside the build context), the
# prebuilt N-API addon with libbpf linked in, and dist/; then `npm pack`.
# Stage "runtime" (node:20-bookworm-slim): only Node.js, libelf1 and the packed sensor with its
# production dependencies. Nothing is compiled at start: the kernel's BTF picks the object.
#
# Run it with the host's PID namespace, the BPF capabilities, BTF/tracefs/bpffs and the host's
# root read-only at /host (see docker-compose.yml). It runs as uid 0 with only the capabilities
# given to the container: a non-root user would get no effective capabilities without file
# capabilities on the node binary, which would then hold for every node program in the image.
FROM node:20-bookworm AS build
WORKDIR /src
ENV DEBIAN_FRONTEND=noninteractive
ARG BTF=/sys/kernel/btf/vmlinux
# The tarball is installed only in this image, of this architecture: no arm64 cross-build here.
ENV EBPF_SENSOR_PREBUILD_HOST_ONLY=1
COPY . .
RUN apt-get update -q \
 && sh scripts/setup.sh \
 && make -s -C bpf BTF="$BTF" \
 && npm pack --pack-destination /tmp \
 && mv /tmp/ebpf-sensor-*.tgz /tmp/ebpf-sensor.tgz

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production DEBIAN_FRONTEND=noninteractive
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends libelf1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /tmp/ebpf-sensor.tgz /tmp/ebpf-sensor.tgz
RUN npm install -g --omit=dev --ignore-scripts --no-audit --no-fund /tmp/ebpf-sensor.tgz \
 && rm /tmp/ebpf-sensor.tgz \
 && npm cache clean --force
# The journal and sink cursors (a volume in docker-compose.yml).
VOLUME /var/lib/ebpf-sensor
ENTRYPOINT ["ebpf-sensor"]
CMD ["run"]
