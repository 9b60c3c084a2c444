// deploy/k8s, validated strictly: every overlay is rendered (base + dev, base + prod), every
// rendered object passes kubernetes-models' validate() (required fields, types, formats) AND the
// TypeScript compiler against its kubernetes-models interface (which also refuses unknown, i.e.
// misspelled, fields); patches are checked the same way as partial objects. Then the properties
// issue 8 asks of the workloads are asserted on the rendered objects.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import {
  type IDeployment,
  type IDeploymentSpec,
  type IStatefulSet,
} from 'kubernetes-models/apps/v1';
import { type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { type IJob } from 'kubernetes-models/batch/v1';
import { type IIngress, type INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { type IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  type IConfigMap,
  type IContainer,
  type IPodSpec,
  type IService,
} from 'kubernetes-models/v1';
import { typeCheckManifests, type TypedObject } from './support/k8s-type-check';
import { K8S_ROOT, kustomize, type Manifest, readYamlDocuments } from './support/kustomize';

jest.setTimeout(60_000);

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  ConfigMap,
  Secret,
  Service,
  Namespace,
  PersistentVolumeClaim,
  Deployment,
  StatefulSet,
  Job,
  HorizontalPodAutoscaler,
  PodDisruptionBudget,
  NetworkPolicy,
  Ingress,
};

const OVERLAYS = ['dev', 'prod'] as const;
const rendered = Object.fromEntries(
  OVERLAYS.map((overlay) => [overlay, kustomize(join(K8S_ROOT, 'overlays', overlay))]),
) as Record<(typeof OVERLAYS)[number], Manifest[]>;
const base = kustomize(join(K8S_ROOT, 'base'));

function patchObjects(): TypedObject[] {
  return OVERLAYS.flatMap((overlay) => {
    const folder = join(K8S_ROOT, 'overlays', overlay, 'patches');
    return readdirSync(folder).flatMap((file) =>
      readYamlDocuments(join(folder, file)).map((value) => ({
        source: `overlays/${overlay}/patches/${file}`,
        value: value as TypedObject['value'],
        partial: true,
      })),
    );
  });
}

const allObjects = (): TypedObject[] => [
  ...base.map((value) => ({ source: `base ${value.kind}/${value.metadata.name}`, value })),
  ...OVERLAYS.flatMap((overlay) =>
    rendered[overlay].map((value) => ({
      source: `${overlay} ${value.kind}/${value.metadata.name}`,
      value,
    })),
  ),
  ...patchObjects(),
];

const byKind = (manifests: Manifest[], kind: string): Manifest[] =>
  manifests.filter((manifest) => manifest.kind === kind);
/** Objects of one kind, typed: every object already passed validate() and the strict type check. */
function ofKind<T>(manifests: Manifest[], kind: string): T[] {
  return byKind(manifests, kind) as unknown as T[];
}
interface Named {
  metadata?: { name?: string };
}
const nameOf = (object: Named): string => object.metadata?.name ?? '';
const podSpecOf = (workload: IDeployment | IStatefulSet | IJob): IPodSpec =>
  workload.spec!.template.spec!;
function one<T extends Named>(objects: T[], name: string): T {
  const found = objects.find((object) => nameOf(object) === name);
  if (!found) throw new Error(`${name} not found`);
  return found;
}

describe('Kubernetes manifests', () => {
  it('render for every overlay', () => {
    expect(base.length).toBeGreaterThan(40);
    expect(rendered.dev.length).toBeGreaterThan(base.length);
    expect(rendered.prod.length).toBeGreaterThan(base.length);
    for (const overlay of OVERLAYS) {
      for (const manifest of rendered[overlay]) {
        if (manifest.kind === 'Namespace') continue;
        expect(
          `${manifest.kind}/${manifest.metadata.name}: ${String(manifest.metadata.namespace)}`,
        ).toBe(`${manifest.kind}/${manifest.metadata.name}: strata`);
      }
    }
  });

  it('pass kubernetes-models validation (required fields, types, formats)', () => {
    const failures: string[] = [];
    for (const { source, value } of allObjects().filter((object) => !object.partial)) {
      const Model = MODELS[String(value.kind)];
      if (!Model) {
        failures.push(`${source}: no model for ${String(value.kind)}`);
        continue;
      }
      try {
        new Model(value as never).validate();
      } catch (error) {
        failures.push(`${source}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('pass the strict type check (no unknown field, no wrong type, nothing required missing), patches too', () => {
    expect(typeCheckManifests(allObjects())).toEqual([]);
  });

  describe('the strict check fails', () => {
    const deployment = one(ofKind<IDeployment>(rendered.dev, 'Deployment'), 'gateway');
    const check = (value: object, partial = false): string =>
      typeCheckManifests([{ source: 'probe', value: value as TypedObject['value'], partial }])
        .map((problem) => problem.message)
        .join('\n');

    it('on a misspelled field', () => {
      const broken = structuredClone(deployment);
      const container = podSpecOf(broken).containers[0] as IContainer & Record<string, unknown>;
      container.readinesProbe = container.readinessProbe;
      expect(check(broken)).toMatch(/'"readinesProbe"' does not exist in type 'IContainer'/);
    });

    it('on a wrong type', () => {
      const broken = structuredClone(deployment);
      (podSpecOf(broken) as unknown as Record<string, unknown>).terminationGracePeriodSeconds =
        'thirty';
      expect(check(broken)).toMatch(/Type 'string' is not assignable to type 'number'/);
    });

    it('on a missing required field', () => {
      const broken = structuredClone(deployment);
      delete (broken.spec as Partial<IDeploymentSpec>).selector;
      expect(check(broken)).toMatch(/Property '"selector"' is missing/);
    });

    it('on a misspelled field in a patch', () => {
      const patch = {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'x' },
        spec: { minReplica: 1 },
      };
      expect(check(patch, true)).toMatch(/'"minReplica"' does not exist/);
    });
  });

  describe.each(OVERLAYS)('%s overlay', (overlay) => {
    const manifests = rendered[overlay];
    const deployments = ofKind<IDeployment>(manifests, 'Deployment');
    const statefulSets = ofKind<IStatefulSet>(manifests, 'StatefulSet');
    const jobs = ofKind<IJob>(manifests, 'Job');
    const firstContainer = (name: string): IContainer =>
      podSpecOf(one(deployments, name)).containers[0];

    it('runs every workload non-root, read-only, without capabilities, with resources', () => {
      for (const workload of [...deployments, ...statefulSets, ...jobs]) {
        const pod = podSpecOf(workload);
        expect([
          nameOf(workload),
          pod.securityContext?.runAsNonRoot,
          pod.automountServiceAccountToken,
        ]).toEqual([nameOf(workload), true, false]);
        for (const container of pod.containers) {
          expect([nameOf(workload), container.securityContext]).toEqual([
            nameOf(workload),
            {
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
            },
          ]);
          expect(
            container.resources?.requests?.cpu && container.resources.limits?.memory,
          ).toBeTruthy();
        }
      }
    });

    it('probes services over gRPC and the gateway over HTTP, drains before stopping', () => {
      const services = ofKind<IService>(manifests, 'Service');
      for (const [name, port] of [
        ['user', 50051],
        ['payment', 50052],
        ['content', 50053],
      ] as const) {
        const container = firstContainer(name);
        for (const probe of [
          container.readinessProbe,
          container.livenessProbe,
          container.startupProbe,
        ])
          expect(probe?.grpc).toEqual({ port });
        expect(one(services, name).spec?.clusterIP).toBe('None');
        expect(container.lifecycle?.preStop).toBeDefined();
        expect(
          podSpecOf(one(deployments, name)).terminationGracePeriodSeconds,
        ).toBeGreaterThanOrEqual(30);
      }
      const gateway = firstContainer('gateway');
      expect(gateway.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(gateway.livenessProbe?.httpGet?.path).toBe('/healthz');
      // Grace covers the preStop delay plus the gateway's own drain (SHUTDOWN_GRACE_MS).
      const preStopSeconds = Number(gateway.lifecycle?.preStop?.exec?.command?.[1]);
      const config = one(ofKind<IConfigMap>(manifests, 'ConfigMap'), 'gateway-config');
      const drainSeconds = Number(config.data?.SHUTDOWN_GRACE_MS) / 1000;
      expect(preStopSeconds).toBeGreaterThan(0);
      expect(podSpecOf(one(deployments, 'gateway')).terminationGracePeriodSeconds).toBeGreaterThan(
        preStopSeconds + drainSeconds,
      );
    });

    it('autoscales every service, worker and the gateway, with disruption budgets for the serving ones', () => {
      const autoscalers = ofKind<IHorizontalPodAutoscaler>(manifests, 'HorizontalPodAutoscaler');
      const autoscaled = autoscalers.map((hpa) => hpa.spec?.scaleTargetRef.name);
      for (const name of [
        'gateway',
        'user',
        'payment',
        'content',
        'user-worker',
        'payment-worker',
        'content-worker',
        'notification',
      ]) {
        expect(autoscaled).toContain(name);
        expect(one(deployments, name)).toBeDefined();
      }
      expect(one(autoscalers, 'gateway').spec?.minReplicas).toBeGreaterThanOrEqual(2);
      const budgets = ofKind<IPodDisruptionBudget>(manifests, 'PodDisruptionBudget').map(nameOf);
      for (const name of ['gateway', 'user', 'payment', 'content']) expect(budgets).toContain(name);
    });

    it('denies traffic by default and lets only the gateway (and callers of user) reach services', () => {
      const policies = ofKind<INetworkPolicy>(manifests, 'NetworkPolicy');
      expect(one(policies, 'default-deny').spec).toEqual({
        podSelector: {},
        policyTypes: ['Ingress', 'Egress'],
        ingress: [],
        egress: [],
      });
      const appOf = (
        selector: { matchLabels?: Record<string, string> } | undefined,
      ): string | undefined => selector?.matchLabels?.['app.kubernetes.io/name'];
      const callers = (name: string): string[] =>
        policies
          .filter((policy) => appOf(policy.spec?.podSelector) === name)
          .flatMap((policy) => policy.spec?.ingress ?? [])
          .flatMap((rule) => rule.from ?? [])
          .map((peer) => appOf(peer.podSelector) ?? 'other');
      expect(callers('payment')).toEqual(['gateway']);
      expect(callers('content')).toEqual(['gateway']);
      expect(callers('user').sort()).toEqual([
        'content',
        'content-worker',
        'gateway',
        'notification',
        'payment',
        'payment-worker',
      ]);
      // A service's egress to stores names only its own (plus the shared queue Redis).
      const userStores = (one(policies, 'user').spec?.egress ?? [])
        .flatMap((rule) => rule.to ?? [])
        .map((peer) => peer.podSelector?.matchLabels?.['strata.dev/store'])
        .filter((store): store is string => store !== undefined);
      expect(userStores.sort()).toEqual(['queue-redis', 'user-postgres', 'user-redis']);
    });

    it('migrates each database with a Job and exposes the gateway through an Ingress', () => {
      for (const service of ['user', 'payment', 'content']) {
        const container = podSpecOf(one(jobs, `migrate-${service}`)).containers[0];
        expect(container.command).toContain('migrate');
        // The one image compose builds and runs its migrations from (no second, 2 GB image).
        expect(container.image).toMatch(/^strata\/app(:|$)/);
        expect(container.envFrom).toEqual([{ secretRef: { name: `${service}-secrets` } }]);
      }
      const paths = ofKind<IIngress>(manifests, 'Ingress').flatMap(
        (ingress) => ingress.spec?.rules?.[0]?.http?.paths ?? [],
      );
      expect(paths.map((path) => path.path).sort()).toEqual(['/', '/v1/events', '/v1/media']);
      for (const path of paths) expect(path.backend.service?.name).toBe('gateway');
    });

    it('refers only to ConfigMaps it defines (and, in dev, Secrets it defines)', () => {
      const configMaps = new Set<string | undefined>(
        byKind(manifests, 'ConfigMap').map((manifest) => manifest.metadata.name),
      );
      const secrets = new Set<string | undefined>(
        byKind(manifests, 'Secret').map((manifest) => manifest.metadata.name),
      );
      for (const workload of [...deployments, ...jobs, ...statefulSets]) {
        for (const container of podSpecOf(workload).containers) {
          for (const source of container.envFrom ?? []) {
            if (source.configMapRef)
              expect(
                `${nameOf(workload)} → ${source.configMapRef.name}: ${configMaps.has(source.configMapRef.name)}`,
              ).toMatch(/true$/);
            if (source.secretRef && overlay === 'dev')
              expect(
                `${nameOf(workload)} → ${source.secretRef.name}: ${secrets.has(source.secretRef.name)}`,
              ).toMatch(/true$/);
          }
        }
      }
    });
  });

  it('keeps dev stores in the cluster (StatefulSets) and prod stores outside', () => {
    const statefulSets = ofKind<IStatefulSet>(rendered.dev, 'StatefulSet');
    expect(statefulSets.map(nameOf).sort()).toEqual([
      'postgres-content',
      'postgres-payment',
      'postgres-user',
      'redis-content',
      'redis-events',
      'redis-gateway',
      'redis-payment',
      'redis-queue',
      'redis-user',
    ]);
    expect(podSpecOf(one(statefulSets, 'redis-queue')).containers[0].args?.join(' ')).toMatch(
      /--maxmemory-policy noeviction --appendonly yes/,
    );
    expect(byKind(rendered.prod, 'StatefulSet')).toEqual([]);
    expect(byKind(rendered.prod, 'Secret')).toEqual([]);
    const images = ofKind<IDeployment>(rendered.prod, 'Deployment').flatMap((workload) =>
      podSpecOf(workload).containers.map((container) => container.image),
    );
    expect(new Set(images)).toEqual(new Set(['strata/app:0.1.0']));
  });
});
