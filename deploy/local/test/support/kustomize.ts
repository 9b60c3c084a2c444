// The part of kustomize that deploy/k8s uses, so the tests can render every overlay without a
// kustomize binary (none is installed on CI machines): resources (files and folders), namespace,
// labels, images and strategic-merge patches. A kustomization using anything else fails here,
// loudly, instead of being rendered wrongly. Checked against `kubectl kustomize` (kustomize v5.5)
// when written: same objects, same fields (see docs/deployment.md).
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export type Manifest = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string } & Record<string, unknown>;
};

const SUPPORTED_KEYS = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'labels',
  'resources',
  'images',
  'patches',
]);
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'PersistentVolume',
  'StorageClass',
  'IngressClass',
]);
/** Lists merged by a key in a strategic merge patch (the Kubernetes patchMergeKey of each field). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  imagePullSecrets: 'name',
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses every document of a YAML file; a syntax error or an empty document is an error. */
export function readYamlDocuments(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`${path}: ${document.errors[0].message}`);
      return document.toJS() as unknown;
    })
    .filter((value) => value !== null);
}

function asManifest(value: unknown, source: string): Manifest {
  if (!isObject(value) || typeof value.apiVersion !== 'string' || typeof value.kind !== 'string') {
    throw new Error(`${source}: not a Kubernetes object`);
  }
  const metadata = value.metadata;
  if (!isObject(metadata) || typeof metadata.name !== 'string')
    throw new Error(`${source}: ${value.kind} without metadata.name`);
  return value as Manifest;
}

/** Strategic merge of `patch` into `target` (a copy is returned). */
export function strategicMerge(target: unknown, patch: unknown, field = ''): unknown {
  if (isObject(target) && isObject(patch)) {
    const merged: Record<string, unknown> = { ...target };
    for (const [key, value] of Object.entries(patch))
      merged[key] = key in target ? strategicMerge(target[key], value, key) : value;
    return merged;
  }
  const mergeKey = MERGE_KEYS[field];
  if (Array.isArray(target) && Array.isArray(patch) && mergeKey) {
    const merged: unknown[] = [...(target as unknown[])];
    for (const item of patch) {
      const index = merged.findIndex(
        (existing) => isObject(existing) && isObject(item) && existing[mergeKey] === item[mergeKey],
      );
      if (index >= 0) merged[index] = strategicMerge(merged[index], item);
      else merged.push(item);
    }
    return merged;
  }
  return patch;
}

function podSpecs(manifest: Manifest): Array<Record<string, unknown>> {
  const spec = manifest.spec;
  if (!isObject(spec)) return [];
  const template =
    isObject(spec.jobTemplate) && isObject(spec.jobTemplate.spec)
      ? spec.jobTemplate.spec.template
      : spec.template;
  return isObject(template) && isObject(template.spec) ? [template.spec] : [];
}

function setImages(
  manifest: Manifest,
  images: Array<{ name: string; newName?: string; newTag?: string }>,
): void {
  for (const podSpec of podSpecs(manifest)) {
    for (const list of ['containers', 'initContainers']) {
      const containers = podSpec[list];
      if (!Array.isArray(containers)) continue;
      for (const container of containers as Array<Record<string, unknown>>) {
        const image = typeof container.image === 'string' ? container.image : '';
        const name = image.replace(/[:@].*$/, '');
        const rule = images.find((candidate) => candidate.name === name);
        if (rule)
          container.image = `${rule.newName ?? name}:${rule.newTag ?? (image.split(':')[1] || 'latest')}`;
      }
    }
  }
}

/** Renders the kustomization in `directory` to its list of objects. */
export function kustomize(directory: string): Manifest[] {
  const kustomizationPath = join(directory, 'kustomization.yaml');
  const [kustomization] = readYamlDocuments(kustomizationPath);
  if (!isObject(kustomization)) throw new Error(`${kustomizationPath}: empty`);
  for (const key of Object.keys(kustomization)) {
    if (!SUPPORTED_KEYS.has(key))
      throw new Error(
        `${kustomizationPath}: "${key}" is not supported by this renderer (or misspelled)`,
      );
  }

  let manifests: Manifest[] = [];
  for (const resource of (kustomization.resources as string[] | undefined) ?? []) {
    const path = resolve(directory, resource);
    if (statSync(path).isDirectory()) manifests.push(...kustomize(path));
    else for (const document of readYamlDocuments(path)) manifests.push(asManifest(document, path));
  }

  for (const patchEntry of (kustomization.patches as Array<{ path: string }> | undefined) ?? []) {
    const patchPath = resolve(directory, patchEntry.path);
    for (const patchDocument of readYamlDocuments(patchPath)) {
      const patch = asManifest(patchDocument, patchPath);
      const index = manifests.findIndex(
        (manifest) =>
          manifest.kind === patch.kind && manifest.metadata.name === patch.metadata.name,
      );
      if (index < 0)
        throw new Error(`${patchPath}: no ${patch.kind} ${patch.metadata.name} to patch`);
      manifests[index] = strategicMerge(manifests[index], patch) as Manifest;
    }
  }

  const namespace = kustomization.namespace as string | undefined;
  const labelRules =
    (kustomization.labels as
      Array<{ pairs: Record<string, string>; includeSelectors?: boolean }> | undefined) ?? [];
  const images =
    (kustomization.images as
      Array<{ name: string; newName?: string; newTag?: string }> | undefined) ?? [];
  manifests = manifests.map((original) => {
    const manifest = structuredClone(original);
    if (namespace) {
      if (manifest.kind === 'Namespace') manifest.metadata.name = namespace;
      else if (!CLUSTER_SCOPED.has(manifest.kind)) manifest.metadata.namespace = namespace;
    }
    for (const rule of labelRules) {
      if (rule.includeSelectors)
        throw new Error(
          `${kustomizationPath}: labels.includeSelectors is not supported by this renderer`,
        );
      manifest.metadata.labels = {
        ...(manifest.metadata.labels as Record<string, string> | undefined),
        ...rule.pairs,
      };
    }
    setImages(manifest, images);
    return manifest;
  });

  const seen = new Set<string>();
  for (const manifest of manifests) {
    const namespaceOf =
      typeof manifest.metadata.namespace === 'string' ? manifest.metadata.namespace : '';
    const id = `${manifest.kind}/${namespaceOf}/${manifest.metadata.name}`;
    if (seen.has(id)) throw new Error(`${directory}: ${id} defined twice`);
    seen.add(id);
  }
  return manifests;
}

export const K8S_ROOT = resolve(dirname(__filename), '../../../k8s');
