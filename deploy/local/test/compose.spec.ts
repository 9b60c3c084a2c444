// compose.yaml and the images, checked statically (bringing compose up needs a Docker engine and
// base images: see docs/deployment.md). dclint validates against the Compose Specification schema
// (additionalProperties: false, so a misspelled key fails) plus its safety rules; the assertions
// below check what issue 8 asks of the file itself.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { validate as validateDockerfile } from 'dockerfile-utils';
import { parse } from 'yaml';

const REPO = resolve(__dirname, '../../..');
// The package exports no subpaths; its CLI sits beside package.json.
const DCLINT = join(dirname(require.resolve('dclint/package.json')), 'bin/dclint.cjs');

interface ComposeService {
  image?: string;
  build?: { target?: string; args?: Record<string, string> };
  command?: string | string[];
  working_dir?: string;
  environment?: Record<string, string>;
  env_file?: string | string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  ports?: string[];
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
  restart?: string;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

const composeText = readFileSync(join(REPO, 'compose.yaml'), 'utf8');
// Merge keys (<<) resolved, as compose does.
const compose = parse(composeText, { merge: true }) as ComposeFile;
const services = compose.services;

function dclint(file: string): { status: number | null; output: string } {
  const result = spawnSync(
    process.execPath,
    [DCLINT, '-c', join(REPO, 'deploy/dclint.json'), file],
    {
      encoding: 'utf8',
    },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('compose.yaml', () => {
  it('is valid Compose and passes dclint', () => {
    const result = dclint(join(REPO, 'compose.yaml'));
    expect(result.output.trim()).toBe('');
    expect(result.status).toBe(0);
  });

  it('fails validation on a misspelled key (the check is strict)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-compose-'));
    try {
      const file = join(dir, 'compose.yaml');
      writeFileSync(file, composeText.replace('depends_on:', 'depend_on:'));
      const result = dclint(file);
      expect(result.status).not.toBe(0);
      expect(result.output).toContain('must NOT have additional properties');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs every service, worker, store and tool of issue 8', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'content',
        'content-worker',
        'gateway-a',
        'gateway-b',
        'mail-catcher',
        'migrate-content',
        'migrate-payment',
        'migrate-user',
        'nginx',
        'notification',
        'payment',
        'payment-worker',
        'postgres-content',
        'postgres-payment',
        'postgres-user',
        'psp-simulator',
        'redis-content',
        'redis-gateway',
        'redis-payment',
        'redis-queue',
        'redis-user',
        'user',
        'user-worker',
      ].sort(),
    );
  });

  it('gives each service its own PostgreSQL and Redis cache', () => {
    for (const service of ['user', 'payment', 'content']) {
      const environment = services[service].environment!;
      expect(environment.DATABASE_URL).toContain(`@postgres-${service}:5432/strata_${service}`);
      expect(environment.REDIS_CACHE_URL).toBe(`redis://redis-${service}:6379`);
      expect(services[`${service}-worker`].environment!.DATABASE_URL).toBe(
        environment.DATABASE_URL,
      );
    }
  });

  it('keeps queues on a noeviction Redis with AOF and a volume', () => {
    const queue = services['redis-queue'];
    const command = Array.isArray(queue.command) ? queue.command.join(' ') : (queue.command ?? '');
    expect(command).toMatch(/--maxmemory-policy noeviction/);
    expect(command).toMatch(/--appendonly yes/);
    expect(queue.volumes).toContain('redis-queue:/data');
    for (const [name, service] of Object.entries(services)) {
      if (service.environment?.REDIS_QUEUE_URL)
        expect([name, service.environment.REDIS_QUEUE_URL]).toEqual([
          name,
          'redis://redis-queue:6379',
        ]);
    }
  });

  it('starts a service only after its migration succeeded, and every dependency waits on health', () => {
    for (const service of ['user', 'payment', 'content']) {
      for (const name of [service, `${service}-worker`]) {
        expect(services[name].depends_on?.[`migrate-${service}`]).toEqual({
          condition: 'service_completed_successfully',
        });
      }
      expect(services[`migrate-${service}`].depends_on?.[`postgres-${service}`]).toEqual({
        condition: 'service_healthy',
      });
      // Migrations run from the runtime image (one image to build; read-only, non-root).
      expect(services[`migrate-${service}`].build?.target).toBe('runtime');
      expect(services[`migrate-${service}`].command).toEqual([
        'node',
        '/app/packages/prisma-offline/bin/strata-prisma.cjs',
        'migrate',
        'deploy',
      ]);
    }
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(services[dependency]).toBeDefined();
        const expected = dependency.startsWith('migrate-')
          ? 'service_completed_successfully'
          : 'service_healthy';
        expect(`${name} → ${dependency}: ${condition}`).toBe(
          `${name} → ${dependency}: ${expected}`,
        );
      }
    }
    expect(Object.keys(services.nginx.depends_on ?? {}).sort()).toEqual(['gateway-a', 'gateway-b']);
  });

  it('health-checks every long-running container', () => {
    for (const [name, service] of Object.entries(services)) {
      if (name.startsWith('migrate-')) continue;
      const viaImage =
        service.build?.target === 'runtime' &&
        typeof service.environment?.HEALTHCHECK_TARGET === 'string';
      expect(`${name}: ${viaImage || service.healthcheck !== undefined}`).toBe(`${name}: true`);
    }
    // Processes with a port are asked on it, not merely "running".
    expect(services['gateway-a'].environment!.HEALTHCHECK_TARGET).toBe(
      'http://127.0.0.1:8081/readyz',
    );
    for (const [service, port] of [
      ['user', 50051],
      ['payment', 50052],
      ['content', 50053],
    ] as const) {
      expect(services[service].environment!.HEALTHCHECK_TARGET).toBe(`grpc://127.0.0.1:${port}`);
    }
  });

  it('runs app containers unprivileged, read-only, with secrets only where needed', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build?.target !== 'runtime') continue;
      expect([name, service.read_only, service.cap_drop]).toEqual([name, true, ['ALL']]);
    }
    const withSecrets = Object.entries(services)
      .filter(([, service]) => service.env_file !== undefined)
      .map(([name]) => name)
      .sort();
    expect(withSecrets).toEqual([
      'notification',
      'payment',
      'payment-worker',
      'psp-simulator',
      'user',
      'user-worker',
    ]);
    expect(services.nginx.user).toBe('101:101');
  });

  it('puts Nginx on 8080 with the rendered compose config, two gateways behind it', () => {
    expect(services.nginx.ports).toEqual(['127.0.0.1:${STRATA_PUBLIC_PORT:-8080}:8080']);
    const mount = services.nginx.volumes![0];
    expect(mount).toBe('./deploy/nginx/rendered/compose.conf:/etc/strata/nginx.conf:ro');
    expect(existsSync(join(REPO, 'deploy/nginx/rendered/compose.conf'))).toBe(true);
    expect(services['gateway-a'].environment).toEqual(services['gateway-b'].environment);
    // Gateways are reached only through Nginx.
    expect(services['gateway-a'].ports).toBeUndefined();
  });

  it('declares every named volume it mounts, and the env file exists', () => {
    const named = new Set<string>();
    for (const service of Object.values(services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0];
        if (!source.startsWith('.') && !source.startsWith('/')) named.add(source);
      }
    }
    expect([...named].sort()).toEqual(Object.keys(compose.volumes).sort());
    expect(existsSync(join(REPO, '.env.example'))).toBe(true);
  });
});

/** Diagnostics carry a string or a markup object as message. */
const messageOf = (problem: { message: string | { value: string } }): string =>
  typeof problem.message === 'string' ? problem.message : problem.message.value;

describe('docker/Dockerfile', () => {
  const dockerfile = readFileSync(join(REPO, 'docker/Dockerfile'), 'utf8');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() && !line.trim().startsWith('#'));
  const stages = instructions.filter((line) => line.startsWith('FROM '));

  it('passes dockerfile-utils lint, as do the CI stand-ins (and a misspelled instruction fails)', () => {
    for (const file of [
      'docker/Dockerfile',
      ...readdirSync(join(REPO, 'docker/ci'))
        .filter((name) => name.endsWith('.Dockerfile'))
        .map((name) => `docker/ci/${name}`),
    ]) {
      const problems = validateDockerfile(readFileSync(join(REPO, file), 'utf8')).map(
        (problem) => `${file}:${problem.range.start.line + 1} ${messageOf(problem)}`,
      );
      expect(problems).toEqual([]);
    }
    expect(
      validateDockerfile(dockerfile.replace('FROM build AS prune', 'FORM build AS prune')).map(
        messageOf,
      ),
    ).toContain('Unknown instruction: FORM');
  });

  it('takes its base image as a build argument defaulting to node:20 slim', () => {
    expect(instructions[0]).toBe('ARG NODE_IMAGE=node:20-bookworm-slim');
    for (const stage of stages)
      expect(stage).toMatch(/^FROM (\$\{NODE_IMAGE\}|build|manifests) AS [a-z]+$/);
  });

  it('builds once with Nx, prunes to production dependencies, runs as non-root with a HEALTHCHECK', () => {
    expect(stages.map((stage) => stage.split(' AS ')[1])).toEqual([
      'manifests',
      'build',
      'prune',
      'runtime',
    ]);
    expect(instructions.filter((line) => line.includes('nx run-many -t build'))).toHaveLength(1);
    expect(dockerfile).toContain('npm prune --omit=dev');
    const runtime = instructions.slice(
      instructions.findIndex((line) => line.endsWith('AS runtime')),
    );
    expect(runtime.filter((line) => line.startsWith('USER '))).toEqual(['USER node']);
    expect(
      runtime.some(
        (line) => line.startsWith('HEALTHCHECK ') && line.includes('docker/healthcheck.cjs'),
      ),
    ).toBe(true);
  });

  it('installs through an npm cache mount CI can seed, and pulls no Dockerfile frontend', () => {
    // A `# syntax=` line makes BuildKit pull docker/dockerfile from Docker Hub: CI has no registry.
    expect(dockerfile).not.toMatch(/^#\s*syntax=/m);
    const mount = '--mount=type=cache,id=strata-npm,target=/root/.npm';
    expect(
      instructions.filter(
        (line) => line.includes(mount) && line.includes('npm ci --prefer-offline'),
      ),
    ).toHaveLength(1);
    // docker/ci/compose-smoke.sh fills the same mount with the machine's npm cache.
    const seed = readFileSync(join(REPO, 'docker/ci/npm-cache-seed.Dockerfile'), 'utf8');
    expect(seed).toContain(mount);
  });

  it('has CI stand-in scripts that parse (compose without a registry)', () => {
    for (const [shell, script] of [
      ['bash', 'docker/ci/compose-smoke.sh'],
      ['bash', 'docker/ci/postgres-entrypoint.sh'],
      ['sh', 'docker/ci/redis-entrypoint.sh'],
    ] as const) {
      const result = spawnSync(shell, ['-n', join(REPO, script)], { encoding: 'utf8' });
      expect(`${script}: ${result.status} ${result.stderr}`).toBe(`${script}: 0 `);
    }
  });

  it('keeps node_modules, dist and secrets out of the build context', () => {
    const ignored = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n');
    for (const pattern of ['**/node_modules', '**/dist', '.git', '.env', '.run'])
      expect(ignored).toContain(pattern);
  });
});
