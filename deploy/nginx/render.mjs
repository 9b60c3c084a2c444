#!/usr/bin/env node
// @ts-check
// Renders deploy/nginx/strata.conf.template for each way Strata runs. One template, so the three
// modes cannot drift apart on what matters (least_conn, retries, limits, headers, logs).
//
//   node deploy/nginx/render.mjs                 rewrites deploy/nginx/rendered/*.conf
//   node deploy/nginx/render.mjs --check         fails if a committed file is not what the template gives
//   node deploy/nginx/render.mjs --json '<variant>'  prints one variant (NginxVariant as JSON), for tests
//
// The one-machine launcher imports renderNginxConfig and renders its variant at start-up (its
// ports and run directory are only known then).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const TEMPLATE_PATH = join(HERE, 'strata.conf.template');

/**
 * @typedef {object} NginxVariant
 * @property {string} listen address:port
 * @property {string[]} upstreams host:port of every gateway replica
 * @property {string} runDir writable directory for the pid and temp files
 * @property {string} accessLog
 * @property {string} errorLog
 * @property {string} [workerProcesses] default "1"
 * @property {string} [bodyLimit] default "1m" (the gateway's BODY_LIMIT_BYTES)
 * @property {string} [mediaBodyLimit] default "11m" (the gateway's MEDIA_MAX_BYTES plus multipart framing)
 * @property {string[]} [metricsAllow] CIDRs that may read /metrics through Nginx
 */

/** @param {NginxVariant} variant */
export function renderNginxConfig(variant) {
  /** @type {Record<string, string>} */
  const values = {
    WORKER_PROCESSES: variant.workerProcesses ?? '1',
    LISTEN: variant.listen,
    UPSTREAM_SERVERS: variant.upstreams
      .map((upstream) => `    server ${upstream} max_fails=2 fail_timeout=5s;`)
      .join('\n'),
    RUN_DIR: variant.runDir,
    ACCESS_LOG: variant.accessLog,
    ERROR_LOG: variant.errorLog,
    BODY_LIMIT: variant.bodyLimit ?? '1m',
    MEDIA_BODY_LIMIT: variant.mediaBodyLimit ?? '11m',
    METRICS_ALLOW: (variant.metricsAllow ?? ['127.0.0.1'])
      .map((cidr) => `      allow ${cidr};`)
      .join('\n'),
  };
  const rendered = readFileSync(TEMPLATE_PATH, 'utf8').replace(
    /\{\{([A-Z_]+)\}\}/g,
    (match, name) => {
      const value = values[name];
      // Inside the header comment the names are written without braces, so any brace pair left
      // is a placeholder the template gained without the renderer: fail rather than emit it.
      if (value === undefined) throw new Error(`nginx template: no value for ${match}`);
      return value;
    },
  );
  return rendered;
}

/** The container variants, committed under deploy/nginx/rendered/ and mounted by compose. */
export const CONTAINER_VARIANTS = {
  compose: {
    workerProcesses: 'auto',
    listen: '8080',
    upstreams: ['gateway-a:8081', 'gateway-b:8081'],
    runDir: '/tmp/nginx',
    accessLog: '/dev/stdout',
    // Nginx's own keyword: fd 2 as is (opening /dev/stderr fails when it is a socket).
    errorLog: 'stderr',
    // The compose network: Prometheus or an operator container may scrape through the entry.
    metricsAllow: ['127.0.0.1', '172.16.0.0/12', '192.168.0.0/16', '10.0.0.0/8'],
  },
};

/** @param {keyof typeof CONTAINER_VARIANTS} name */
export function renderedPath(name) {
  return join(HERE, 'rendered', `${name}.conf`);
}

/** @param {keyof typeof CONTAINER_VARIANTS} name */
function header(name) {
  return `# GENERATED from deploy/nginx/strata.conf.template by deploy/nginx/render.mjs (${name}); do not edit.\n`;
}

/** @param {keyof typeof CONTAINER_VARIANTS} name */
export function renderContainerVariant(name) {
  return header(name) + renderNginxConfig(CONTAINER_VARIANTS[name]);
}

if (
  process.argv[1] &&
  fileURLToPath(import.meta.url) === process.argv[1] &&
  process.argv[2] === '--json'
) {
  process.stdout.write(renderNginxConfig(JSON.parse(process.argv[3] ?? '{}')));
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  let stale = false;
  for (const name of /** @type {Array<keyof typeof CONTAINER_VARIANTS>} */ (
    Object.keys(CONTAINER_VARIANTS)
  )) {
    const expected = renderContainerVariant(name);
    const path = renderedPath(name);
    if (check) {
      let current = '';
      try {
        current = readFileSync(path, 'utf8');
      } catch {
        // A missing file is stale too.
      }
      if (current !== expected) {
        process.stderr.write(`${path} is stale: run node deploy/nginx/render.mjs\n`);
        stale = true;
      }
    } else {
      writeFileSync(path, expected);
      process.stdout.write(`wrote ${path}\n`);
    }
  }
  if (stale) process.exit(1);
}
