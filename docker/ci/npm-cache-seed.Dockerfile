# Copies the machine's npm cache (the build context: `npm config get cache`) into BuildKit's cache
# mount `strata-npm`, the one docker/Dockerfile's `npm ci --prefer-offline` reads, so building the
# image downloads nothing the machine's own `npm ci` already fetched. CI only; the image it tags is
# a 0-byte marker.
ARG BASE_IMAGE=localhost/debian-base:bookworm
FROM ${BASE_IMAGE}
RUN --mount=type=cache,id=strata-npm,target=/root/.npm,sharing=locked \
    --mount=type=bind,target=/seed \
    mkdir -p /root/.npm/_cacache && cp -a /seed/_cacache/. /root/.npm/_cacache/ && du -sh /root/.npm
