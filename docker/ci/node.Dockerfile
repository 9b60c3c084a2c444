# Stand-in for node:20-bookworm-slim when no registry is reachable: Debian bookworm (debootstrap)
# plus the Node.js and npm of the machine running the build, a `node` user (uid 1000) as upstream,
# the machine's CA bundle, so npm inside a build trusts what the machine trusts (a TLS-inspecting
# proxy in front of the npm registry, for one), and Node's headers for node-gyp.
ARG BASE_IMAGE=localhost/debian-base:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# Node's headers, so node-gyp builds native addons without downloading them (no internet).
COPY include-node /usr/local/include/node
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm_config_cafile=/etc/ssl/certs/ca-certificates.crt \
    npm_config_nodedir=/usr/local
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
CMD ["node"]
