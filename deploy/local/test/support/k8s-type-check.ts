// Strict validation of Kubernetes objects by the TypeScript compiler: each object becomes an object
// literal typed with its kubernetes-models interface, so a misspelled field ("excess property"), a
// wrong type and a missing required field are all compile errors. kubernetes-models' own runtime
// validate() checks required fields and types but ignores unknown fields; this closes that gap.
// Patches are partial objects: typed with DeepPartial, unknown fields still fail.
import { dirname, join } from 'node:path';
import ts from 'typescript';

/** kind → [module, interface] for every kind deploy/k8s uses. An unknown kind is itself an error. */
const TYPES: Record<string, [string, string]> = {
  'v1/ConfigMap': ['kubernetes-models/v1', 'IConfigMap'],
  'v1/Secret': ['kubernetes-models/v1', 'ISecret'],
  'v1/Service': ['kubernetes-models/v1', 'IService'],
  'v1/Namespace': ['kubernetes-models/v1', 'INamespace'],
  'v1/PersistentVolumeClaim': ['kubernetes-models/v1', 'IPersistentVolumeClaim'],
  'apps/v1/Deployment': ['kubernetes-models/apps/v1', 'IDeployment'],
  'apps/v1/StatefulSet': ['kubernetes-models/apps/v1', 'IStatefulSet'],
  'batch/v1/Job': ['kubernetes-models/batch/v1', 'IJob'],
  'autoscaling/v2/HorizontalPodAutoscaler': [
    'kubernetes-models/autoscaling/v2',
    'IHorizontalPodAutoscaler',
  ],
  'policy/v1/PodDisruptionBudget': ['kubernetes-models/policy/v1', 'IPodDisruptionBudget'],
  'networking.k8s.io/v1/NetworkPolicy': [
    'kubernetes-models/networking.k8s.io/v1',
    'INetworkPolicy',
  ],
  'networking.k8s.io/v1/Ingress': ['kubernetes-models/networking.k8s.io/v1', 'IIngress'],
};

export interface TypedObject {
  readonly source: string;
  readonly value: { apiVersion?: unknown; kind?: unknown } & Record<string, unknown>;
  /** A patch: every field optional, unknown fields still refused. */
  readonly partial?: boolean;
}

export interface TypeCheckProblem {
  readonly source: string;
  readonly message: string;
}

/**
 * Type-checks every object in one compiler run (a virtual file next to this one, so that
 * `kubernetes-models` resolves from node_modules). Returns the problems, none when all is well.
 */
export function typeCheckManifests(objects: readonly TypedObject[]): TypeCheckProblem[] {
  const problems: TypeCheckProblem[] = [];
  const imports = new Map<string, Set<string>>();
  const lines: string[] = [];
  const lineSources: Array<{ line: number; source: string }> = [];
  let nextLine = 0;
  objects.forEach((object, index) => {
    const type = TYPES[`${String(object.value.apiVersion)}/${String(object.value.kind)}`];
    if (!type) {
      problems.push({
        source: object.source,
        message: `no type for ${String(object.value.apiVersion)} ${String(object.value.kind)}`,
      });
      return;
    }
    const [module, name] = type;
    imports.set(module, (imports.get(module) ?? new Set()).add(name));
    const json = JSON.stringify(object.value, null, 1);
    const declaration = `export const object${index}: ${object.partial ? `DeepPartial<${name}>` : name} = ${json};`;
    lineSources.push({ line: nextLine, source: object.source });
    nextLine += declaration.split('\n').length;
    lines.push(declaration);
  });
  const header = [
    ...[...imports].map(
      ([module, names]) => `import type { ${[...names].join(', ')} } from '${module}';`,
    ),
    'type DeepPartial<T> = T extends ReadonlyArray<infer Item> ? Array<DeepPartial<Item>> : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;',
  ];
  const text = [...header, ...lines].join('\n');
  const offset = header.length;

  const virtualPath = join(dirname(__filename), '__k8s-manifests__.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) =>
    fileName === virtualPath
      ? ts.createSourceFile(fileName, text, languageVersion, true)
      : getSourceFile(fileName, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => fileName === virtualPath || fileExists(fileName);
  const program = ts.createProgram([virtualPath], options, host);
  const sourceFile = program.getSourceFile(virtualPath)!;
  for (const diagnostic of ts.getPreEmitDiagnostics(program, sourceFile)) {
    const line =
      diagnostic.file && diagnostic.start !== undefined
        ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line
        : -1;
    // Each object spans the lines from its declaration on: the owner is the last one starting at or before.
    const owner = [...lineSources].reverse().find((entry) => offset + entry.line <= line);
    problems.push({
      source: owner?.source ?? '(header)',
      message: ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'),
    });
  }
  return problems;
}
