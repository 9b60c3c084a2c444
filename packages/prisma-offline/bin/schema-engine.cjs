#!/usr/bin/env node
// @ts-check
'use strict';

/**
 * A stand-in for Prisma's native `schema-engine` binary, built on the published WebAssembly engine
 * (`@prisma/schema-engine-wasm`) driven through `@prisma/adapter-pg`.
 *
 * The stock Prisma CLI runs whatever `PRISMA_SCHEMA_ENGINE_BINARY` names and talks to it exactly as
 * it talks to the native engine:
 *   - `<bin> --datamodels <file>… [--datasource '{"url":…,"shadowDatabaseUrl"?:…}']`: newline-delimited
 *     JSON-RPC 2.0 on stdin/stdout, one request at a time, JSON log lines on stderr;
 *   - `<bin> --datasource '{"url":…}' cli can-connect-to-database | create-database | drop-database`;
 *   - `<bin> --version`.
 * Only PostgreSQL is supported: the single adapter we ship is `@prisma/adapter-pg`.
 *
 * This file is plain CommonJS (checked by tsc through JSDoc) so that it runs straight after
 * `npm ci`, with no build step. Every workaround below is for a real failure seen with the pinned
 * versions; `src/migrate-round-trip.int-spec.ts` exercises each of them through the real CLI.
 */

const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { randomUUID } = require('node:crypto');
const { pathToFileURL } = require('node:url');
const pg = require('pg');
const { PrismaPg } = require('@prisma/adapter-pg');
const {
  ColumnTypeEnum,
  bindMigrationAwareSqlAdapterFactory,
} = require('@prisma/driver-adapter-utils');

/** @typedef {import('@prisma/driver-adapter-utils').SqlDriverAdapter} SqlDriverAdapter */
/** @typedef {import('@prisma/driver-adapter-utils').SqlMigrationAwareDriverAdapterFactory} SqlMigrationAwareDriverAdapterFactory */
/** @typedef {import('@prisma/schema-engine-wasm').SchemaEngine} WasmSchemaEngine */
/** @typedef {{ url?: string, shadowDatabaseUrl?: string }} DatasourceArg */
/** @typedef {{ poolConfig: import('pg').PoolConfig, schema: string | undefined, database: string, display: string }} ConnectionSettings */
/** @typedef {{ jsonrpc?: string, id?: number | string | null, method?: string, params?: unknown, result?: unknown, error?: unknown }} RpcMessage */

// The package's `exports` hide package.json, so locate it through an exported file.
const WASM_PACKAGE_DIR = path.dirname(
  require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'),
);
/** The engine commit the wasm build was made from, e.g. `0edf323e…`; the CLI shows it in `prisma version`. */
const ENGINE_HASH = String(
  /** @type {{ version: string }} */ (
    JSON.parse(fs.readFileSync(path.join(WASM_PACKAGE_DIR, 'package.json'), 'utf8'))
  ).version,
)
  .split('.')
  .pop();

/**
 * The global `WebAssembly` API. @types/node 20 does not declare it (it lives in the DOM lib), so
 * spell out the few members used here.
 *
 * @type {{
 *   Module: new (bytes: Uint8Array) => object,
 *   Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> },
 *   RuntimeError: new (message?: string) => Error,
 * }}
 */
const WebAssemblyApi = /** @type {typeof WebAssemblyApi} */ (
  Reflect.get(globalThis, 'WebAssembly')
);

/** @param {unknown} error */
function isWasmPanic(error) {
  return error instanceof WebAssemblyApi.RuntimeError;
}

/** JSON-RPC error code the native engine uses for every user-facing error. */
const USER_FACING_ERROR_CODE = 4466;
const NO_FILTERS = { externalTables: [], externalEnums: [] };

// ---------------------------------------------------------------------------------------------
// stderr logging, in the native engine's tracing JSON format

/**
 * @param {'INFO' | 'WARN' | 'ERROR' | 'DEBUG'} level
 * @param {string} message
 * @param {Record<string, unknown>} [fields]
 * @param {string} [target]
 */
function log(level, message, fields = {}, target = 'schema_engine') {
  process.stderr.write(
    `${JSON.stringify({ timestamp: new Date().toISOString(), level, fields: { message, ...fields }, target })}\n`,
  );
}

/**
 * Appends one JSON line per served request to the file named by `STRATA_SCHEMA_ENGINE_TRACE`, if set.
 * Tests use it to prove the bridge (not a native engine) served the CLI, and it helps debugging
 * since the CLI swallows the engine's stderr.
 *
 * @param {Record<string, unknown>} entry
 */
function trace(entry) {
  const file = process.env['STRATA_SCHEMA_ENGINE_TRACE'];
  if (!file) return;
  fs.appendFileSync(
    file,
    `${JSON.stringify({ pid: process.pid, at: new Date().toISOString(), ...entry })}\n`,
  );
}

// ---------------------------------------------------------------------------------------------
// Command line

/**
 * @param {string[]} argv
 * @returns {{ datamodels: string[], datasource: DatasourceArg, cliCommand: string | undefined, version: boolean, help: boolean }}
 */
function parseArguments(argv) {
  /** @type {string[]} */
  const datamodels = [];
  /** @type {DatasourceArg} */
  let datasource = {};
  /** @type {string | undefined} */
  let cliCommand;
  let version = false;
  let help = false;
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    const next = () => {
      const value = argv[++index];
      if (value === undefined) throw new Error(`${argument} needs a value`);
      return value;
    };
    switch (argument) {
      case '--datamodels':
        datamodels.push(next());
        break;
      case '--datasource':
        datasource = /** @type {DatasourceArg} */ (JSON.parse(next()));
        break;
      case '--enabled-preview-features':
      case '--extension-types':
        // Accepted for compatibility with the native engine; the wasm engine takes neither.
        next();
        break;
      case '--version':
      case '-V':
        version = true;
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      case 'cli':
        cliCommand = argv[++index];
        break;
      default:
        throw new Error(`Unknown argument: ${argument}`);
    }
  }
  return { datamodels, datasource, cliCommand, version, help };
}

// ---------------------------------------------------------------------------------------------
// Connection settings

/**
 * Turns a `postgres://` URL into discrete pg settings.
 *
 * Why not `connectionString`: a shadow-database pool is built as `{ ...config, database }` (by the
 * adapter's own `connectToShadowDb`, and by ours below), and pg lets `connectionString` win over
 * `database`, so the "shadow" pool would silently point at the main database. Discrete fields keep
 * `database` authoritative.
 *
 * @param {string} url
 * @returns {ConnectionSettings}
 */
function parseDatabaseUrl(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('The datasource URL is not a valid URL');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new Error(
      `@strata/prisma-offline supports PostgreSQL only (postgres:// or postgresql:// URLs), got ${parsed.protocol}`,
    );
  }
  const parameters = parsed.searchParams;
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres';
  // `?host=/var/run/postgresql` selects a Unix socket, as with libpq.
  const host = parameters.get('host') ?? (decodeURIComponent(parsed.hostname) || 'localhost');
  const port = parsed.port ? Number(parsed.port) : 5432;
  /** @type {import('pg').PoolConfig} */
  const poolConfig = {
    host,
    port,
    database,
    user: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
  };
  const sslMode = parameters.get('sslmode');
  if (sslMode === 'disable') {
    poolConfig.ssl = false;
  } else if (sslMode === 'no-verify' || parameters.get('sslaccept') === 'accept_invalid_certs') {
    poolConfig.ssl = { rejectUnauthorized: false };
  } else if (sslMode !== null && sslMode !== 'prefer') {
    poolConfig.ssl = true;
  }
  const connectTimeout = parameters.get('connect_timeout');
  if (connectTimeout !== null) poolConfig.connectionTimeoutMillis = Number(connectTimeout) * 1000;
  const applicationName = parameters.get('application_name');
  poolConfig.application_name = applicationName ?? 'strata-prisma-offline';
  const schema = parameters.get('schema') ?? undefined;
  if (schema !== undefined) {
    // Prisma's `?schema=` means "work in this schema", which for PostgreSQL is the search_path.
    poolConfig.options = `-c search_path="${schema.replace(/"/g, '""')}"`;
  }
  return { poolConfig, schema, database, display: `${host}:${port}` };
}

/** @param {string} identifier */
function quoteIdentifier(identifier) {
  return `"${identifier.replace(/"/g, '""')}"`;
}

// ---------------------------------------------------------------------------------------------
// pg and adapter workarounds

/**
 * The engine's introspection selects `"char"` columns (type OID 18, e.g. `pg_constraint.contype`),
 * which `@prisma/adapter-pg` rejects as an unsupported type. They hold one ASCII character, so
 * reporting them as `text` (OID 25) is exact. Patched once, in this dedicated process only.
 */
function reportCharColumnsAsText() {
  const resultPrototype = /** @type {{ addFields: (fields: import('pg').FieldDef[]) => void }} */ (
    /** @type {unknown} */ (pg.Result.prototype)
  );
  const addFields = resultPrototype.addFields;
  resultPrototype.addFields = function addFieldsWithCharAsText(fields) {
    for (const field of fields) {
      if (field.dataTypeID === 18) field.dataTypeID = 25;
    }
    addFields.call(this, fields);
  };
}

/**
 * Adapters handed to the engine for the main database or a user-given shadow database. The engine
 * never disposes its main adapter, so shutdown ends them.
 *
 * @type {Set<SqlDriverAdapter>}
 */
const openAdapters = new Set();

/**
 * Throw-away shadow databases created and not dropped yet, with the function that drops them.
 * Shutdown runs what is left, before ending the other pools.
 *
 * @type {Map<string, () => Promise<void>>}
 */
const pendingShadowDatabases = new Map();

/**
 * Opens an adapter on a pool of ONE connection, with `executeScript` sending the script whole.
 *
 * - Pool of one: the engine takes `pg_advisory_lock` and later queries again expecting the same
 *   session; on a bigger pool the second statement can land on another connection and wait forever.
 * - `executeScript`: the adapter splits scripts on `;`, which breaks `$$ … $$` function and trigger
 *   bodies. An `executeRaw` without parameters goes out as one simple-protocol query, which
 *   PostgreSQL runs statement by statement, exactly as the native engine does.
 * - `dispose` is made idempotent: the engine and shutdown may both call it.
 *
 * @param {import('pg').PoolConfig} poolConfig
 * @param {string | undefined} schema
 * @param {{ track: boolean }} [options] track = end it at shutdown
 * @returns {Promise<SqlDriverAdapter>}
 */
async function openAdapter(poolConfig, schema, options = { track: true }) {
  const factory = new PrismaPg(
    { ...poolConfig, max: 1, idleTimeoutMillis: 0 },
    schema === undefined ? undefined : { schema },
  );
  const adapter = await factory.connect();
  adapter.executeScript = async (script) => {
    await adapter.executeRaw({ sql: script, args: [], argTypes: [] });
  };
  const dispose = adapter.dispose.bind(adapter);
  /** @type {Promise<void> | undefined} */
  let disposing;
  adapter.dispose = () => {
    openAdapters.delete(adapter);
    disposing ??= dispose();
    return disposing;
  };
  if (options.track) openAdapters.add(adapter);
  return adapter;
}

/**
 * Drops a throw-away shadow database. Its own pool has ended by then; `WITH (FORCE)` (PostgreSQL
 * 13+) also ends sessions the server has not reaped yet, which under load can outlive the client
 * and make a plain DROP fail with "database is being accessed by other users".
 *
 * @param {SqlDriverAdapter} administration an adapter on another database of the same server
 * @param {string} database
 */
async function dropShadowDatabase(administration, database) {
  const version = await administration.queryRaw({
    sql: "SELECT current_setting('server_version_num')::int AS version",
    args: [],
    argTypes: [],
  });
  const force = Number(version.rows[0]?.[0] ?? 0) >= 130000 ? ' WITH (FORCE)' : '';
  await administration.executeScript(
    `DROP DATABASE IF EXISTS ${quoteIdentifier(database)}${force}`,
  );
}

/**
 * Empties a user-provided shadow database. The native engine resets it before replaying the
 * migrations; the wasm engine does not, so the second `migrate dev` would fail on existing tables.
 *
 * @param {SqlDriverAdapter} adapter
 */
async function clearDatabase(adapter) {
  const result = await adapter.queryRaw({
    sql: `SELECT nspname FROM pg_namespace
          WHERE nspname NOT IN ('information_schema', 'pg_catalog', 'pg_toast')
            AND nspname NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%'`,
    args: [],
    argTypes: [],
  });
  const statements = result.rows.map(
    (row) => `DROP SCHEMA ${quoteIdentifier(String(row[0]))} CASCADE;`,
  );
  statements.push('CREATE SCHEMA IF NOT EXISTS "public";');
  await adapter.executeScript(statements.join('\n'));
}

/**
 * The migration-aware adapter factory handed to the wasm engine.
 *
 * @param {ConnectionSettings} main
 * @param {ConnectionSettings | undefined} shadow a user-given shadow database, if any
 * @returns {SqlMigrationAwareDriverAdapterFactory}
 */
function createAdapterFactory(main, shadow) {
  return {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    connect: () => openAdapter(main.poolConfig, main.schema),
    connectToShadowDb: async () => {
      if (shadow !== undefined) {
        const adapter = await openAdapter(shadow.poolConfig, shadow.schema);
        await clearDatabase(adapter);
        return adapter;
      }
      const administration = await openAdapter(main.poolConfig, undefined, { track: false });
      const database = `prisma_migrate_shadow_db_${randomUUID()}`;
      try {
        await administration.executeScript(`CREATE DATABASE ${quoteIdentifier(database)}`);
      } catch (error) {
        await administration.dispose();
        throw error;
      }
      trace({ shadowDatabase: database, event: 'created' });
      const adapter = await openAdapter({ ...main.poolConfig, database }, main.schema, {
        track: false,
      });
      const disposeShadowPool = adapter.dispose.bind(adapter);
      // The adapter drops the shadow database BEFORE ending its pool, which fails while the pool
      // still holds a session in it. End the pool first, then drop.
      /** @type {Promise<void> | undefined} */
      let cleaning;
      const cleanUp = () =>
        (cleaning ??= (async () => {
          try {
            await disposeShadowPool();
            await dropShadowDatabase(administration, database);
            trace({ shadowDatabase: database, event: 'dropped' });
          } catch (error) {
            trace({ shadowDatabase: database, event: 'drop-failed', error: String(error) });
            throw error;
          } finally {
            pendingShadowDatabases.delete(database);
            await administration.dispose();
          }
        })());
      pendingShadowDatabases.set(database, cleanUp);
      adapter.dispose = cleanUp;
      return adapter;
    },
  };
}

/**
 * Without a URL (e.g. `migrate diff --from-empty --to-schema …` with a config that has no
 * datasource) nothing may touch a database, yet the engine runs one probe query on its adapter when
 * it starts. This stub answers that probe as a PostgreSQL 16 server would and refuses anything else.
 *
 * @returns {SqlMigrationAwareDriverAdapterFactory}
 */
function createOfflineAdapterFactory() {
  const refuse = () =>
    Promise.reject(
      new Error('This command needs a database: set datasource.url in prisma.config.ts'),
    );
  /** @type {SqlDriverAdapter} */
  const adapter = {
    provider: 'postgres',
    adapterName: '@strata/prisma-offline-stub',
    queryRaw: async (query) => {
      if (!query.sql.includes('server_version_num')) return refuse();
      return {
        columnNames: ['exists', 'version', 'numeric_version'],
        columnTypes: [ColumnTypeEnum.Boolean, ColumnTypeEnum.Text, ColumnTypeEnum.Int32],
        rows: [[true, 'PostgreSQL 16.0 (offline stub, no database connected)', 160000]],
      };
    },
    executeRaw: refuse,
    executeScript: refuse,
    startTransaction: refuse,
    getConnectionInfo: () => ({ supportsRelationJoins: true }),
    dispose: () => Promise.resolve(),
  };
  return {
    provider: 'postgres',
    adapterName: '@strata/prisma-offline-stub',
    connect: () => Promise.resolve(adapter),
    connectToShadowDb: () => Promise.resolve(adapter),
  };
}

// ---------------------------------------------------------------------------------------------
// The wasm engine

/** @type {Promise<typeof import('@prisma/schema-engine-wasm')> | undefined} */
let wasmModulePromise;

/**
 * Loads the wasm-bindgen glue and instantiates the `.wasm` by hand: Node 20 cannot ESM-import a
 * `.wasm` file, which is what the package's own `schema_engine.js` entry does. This mirrors the
 * loader Prisma 6.19 used in-process.
 *
 * @returns {Promise<typeof import('@prisma/schema-engine-wasm')>}
 */
function loadWasmModule() {
  wasmModulePromise ??= (async () => {
    /** @type {typeof import('@prisma/schema-engine-wasm') & { __wbg_set_wasm: (exports: Record<string, unknown>) => void }} */
    const glue = await import(
      pathToFileURL(path.join(WASM_PACKAGE_DIR, 'schema_engine_bg.js')).href
    );
    const wasmModule = new WebAssemblyApi.Module(
      fs.readFileSync(path.join(WASM_PACKAGE_DIR, 'schema_engine_bg.wasm')),
    );
    const instance = new WebAssemblyApi.Instance(wasmModule, {
      './schema_engine_bg.js': /** @type {Record<string, unknown>} */ (
        /** @type {unknown} */ (glue)
      ),
    });
    glue.__wbg_set_wasm(instance.exports);
    /** @type {() => void} */ (instance.exports['__wbindgen_start'])();
    return glue;
  })();
  return wasmModulePromise;
}

/**
 * @param {string[]} datamodelPaths
 * @param {DatasourceArg} datasource
 * @returns {Promise<WasmSchemaEngine>}
 */
async function startEngine(datamodelPaths, datasource) {
  const wasm = await loadWasmModule();
  /** @type {[string, string][]} */
  const datamodels = datamodelPaths.map((file) => [file, fs.readFileSync(file, 'utf8')]);
  const factory =
    datasource.url === undefined
      ? createOfflineAdapterFactory()
      : createAdapterFactory(
          parseDatabaseUrl(datasource.url),
          datasource.shadowDatabaseUrl === undefined
            ? undefined
            : parseDatabaseUrl(datasource.shadowDatabaseUrl),
        );
  /** @param {string} line */
  const forwardEngineLog = (line) => {
    process.stderr.write(line.endsWith('\n') ? line : `${line}\n`);
  };
  const boundFactory = bindMigrationAwareSqlAdapterFactory(factory);
  adapterErrors = boundFactory.errorRegistry;
  return wasm.SchemaEngine.new(
    { datamodels: datamodels.length > 0 ? datamodels : undefined },
    forwardEngineLog,
    boundFactory,
  );
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC server

/** @param {RpcMessage} message */
function send(message) {
  process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
}

/**
 * JavaScript errors thrown inside the adapter (anything that is not a database error, e.g. a
 * refused connection) reach the engine only as an id; it reports "External error id#N". The
 * registry of the bound factory holds the originals.
 *
 * @type {import('@prisma/driver-adapter-utils').ErrorRegistry | undefined}
 */
let adapterErrors;

/**
 * Replaces "External error id#N" in an engine message by the JavaScript error it stands for.
 *
 * @param {string} message
 */
function resolveExternalErrors(message) {
  return message.replace(/External error id#(\d+)/g, (text, id) => {
    const registered = adapterErrors?.consumeError(Number(id));
    if (registered === undefined) return text;
    return registered.error instanceof Error ? registered.error.message : String(registered.error);
  });
}

/**
 * Shapes an engine failure like the native engine's JSON-RPC error, which the CLI turns into a
 * readable message (and an `EngineError` carrying the P-code when there is one).
 *
 * @param {unknown} error
 */
function toRpcError(error) {
  const message = resolveExternalErrors(error instanceof Error ? error.message : String(error));
  const code =
    typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
      ? error.code
      : null;
  const isPanic = isWasmPanic(error);
  return {
    code: USER_FACING_ERROR_CODE,
    message: 'An error happened. Check the data field for details.',
    data: { is_panic: isPanic, message, meta: null, error_code: code },
  };
}

/** @type {Map<number | string, (result: unknown) => void>} */
const pendingClientRequests = new Map();
let nextClientRequestId = 1;

/**
 * Asks the CLI to print something, as the native engine does for `migrate diff`.
 *
 * @param {string} content
 * @returns {Promise<unknown>}
 */
function printThroughCli(content) {
  const id = `print-${nextClientRequestId++}`;
  return new Promise((resolve) => {
    pendingClientRequests.set(id, resolve);
    send({ id, method: 'print', params: { content } });
  });
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isRecord(value) {
  return typeof value === 'object' && value !== null;
}

/**
 * Serves one RPC method.
 *
 * @param {() => Promise<WasmSchemaEngine>} getEngine
 * @param {string} method
 * @param {unknown} params
 * @param {DatasourceArg} datasource
 * @returns {Promise<unknown>}
 */
async function dispatch(getEngine, method, params, datasource) {
  switch (method) {
    case 'version':
    case 'getDatabaseVersion':
      return (await getEngine()).version(
        /** @type {import('@prisma/schema-engine-wasm').GetDatabaseVersionInput | null} */ (
          params ?? null
        ),
      );
    case 'diff': {
      const result = await (
        await getEngine()
      ).diff(/** @type {import('@prisma/schema-engine-wasm').DiffParams} */ (params));
      // The native engine streams the script to the CLI as a `print` request; the wasm one
      // returns it. The CLI only prints what it is sent, so forward it the native way.
      if (typeof result.stdout === 'string' && result.stdout.length > 0) {
        await printThroughCli(result.stdout.replace(/\n$/, ''));
      }
      return { exitCode: result.exitCode };
    }
    case 'createDatabase':
      return { databaseName: await createDatabase(connectionUrlFrom(params, datasource)) };
    case 'evaluateDataLoss':
    case 'createMigration':
      return runWithDiagnosticRetry(await getEngine(), method, params);
    case 'applyMigrations':
    case 'devDiagnostic':
    case 'dbExecute':
    case 'debugPanic':
    case 'diagnoseMigrationHistory':
    case 'ensureConnectionValidity':
    case 'introspect':
    case 'introspectSql':
    case 'markMigrationApplied':
    case 'markMigrationRolledBack':
    case 'reset':
    case 'schemaPush': {
      const engine = await getEngine();
      // Call through the instance: extracting the method loses its binding to the wasm object.
      const target = /** @type {Record<string, (input: unknown) => Promise<unknown>>} */ (
        /** @type {unknown} */ (engine)
      );
      return target[method].call(engine, params);
    }
    default:
      throw Object.assign(
        new Error(`The wasm schema engine bridge does not implement method "${method}"`),
        {
          rpcCode: -32601,
        },
      );
  }
}

/**
 * `evaluateDataLoss` and `createMigration` need a shadow database that the wasm engine only obtains
 * from the adapter factory while running `devDiagnostic`, and it is used up by the first command
 * that needs it. In the CLI's `migrate dev` flow (devDiagnostic → applyMigrations → evaluateDataLoss
 * → createMigration) that holds only when applyMigrations had nothing to apply; otherwise
 * evaluateDataLoss fails with "PostgreSQL shadow DB must be provided through an external factory".
 * The cure is to run `devDiagnostic` again with the same migrations list, then retry once.
 *
 * @param {WasmSchemaEngine} engine
 * @param {'evaluateDataLoss' | 'createMigration'} method
 * @param {unknown} params
 */
async function runWithDiagnosticRetry(engine, method, params) {
  const call = () =>
    method === 'evaluateDataLoss'
      ? engine.evaluateDataLoss(
          /** @type {import('@prisma/schema-engine-wasm').EvaluateDataLossInput} */ (params),
        )
      : engine.createMigration(
          /** @type {import('@prisma/schema-engine-wasm').CreateMigrationInput} */ (params),
        );
  try {
    return await call();
  } catch (error) {
    if (isWasmPanic(error) || !isRecord(params)) throw error;
    const reason = `retry of ${method} after: ${error instanceof Error ? error.message : String(error)}`;
    log('INFO', reason);
    trace({ method: 'devDiagnostic', reason });
    await engine.devDiagnostic(
      /** @type {import('@prisma/schema-engine-wasm').DevDiagnosticInput} */ ({
        migrationsList: params['migrationsList'],
        filters: params['filters'] ?? NO_FILTERS,
      }),
    );
    return call();
  }
}

/**
 * @param {unknown} params
 * @param {DatasourceArg} datasource
 * @returns {string}
 */
function connectionUrlFrom(params, datasource) {
  if (isRecord(params) && isRecord(params['datasource'])) {
    const source = params['datasource'];
    if (typeof source['url'] === 'string') return source['url'];
  }
  if (datasource.url !== undefined) return datasource.url;
  throw new Error('No datasource URL was given to the schema engine');
}

/**
 * @param {string[]} datamodels
 * @param {DatasourceArg} datasource
 */
async function serveRpc(datamodels, datasource) {
  /** @type {Promise<WasmSchemaEngine> | undefined} */
  let enginePromise;
  const getEngine = () => (enginePromise ??= startEngine(datamodels, datasource));

  // One request at a time: the engine instance is not re-entrant.
  /** @type {Promise<void>} */
  let queue = Promise.resolve();
  let fatal = false;

  /** @param {RpcMessage} request */
  const handle = async (request) => {
    const id = request.id ?? null;
    const method = String(request.method);
    const startedAt = Date.now();
    try {
      const result = await dispatch(getEngine, method, request.params, datasource);
      send({ id, result: result === undefined || result === null ? {} : result });
      trace({ method, ok: true, ms: Date.now() - startedAt });
    } catch (error) {
      trace({
        method,
        ok: false,
        ms: Date.now() - startedAt,
        error: error instanceof Error ? error.message : String(error),
      });
      const rpcCode =
        isRecord(error) && typeof error['rpcCode'] === 'number' ? error['rpcCode'] : undefined;
      send({
        id,
        error:
          rpcCode === undefined
            ? toRpcError(error)
            : { code: rpcCode, message: error instanceof Error ? error.message : String(error) },
      });
      if (isWasmPanic(error)) {
        // A Rust panic leaves the wasm instance unusable; exit as the native engine does.
        fatal = true;
        log(
          'ERROR',
          error instanceof Error ? error.message : String(error),
          { is_panic: true },
          'schema_engine::logger',
        );
        await shutdown(101);
      }
    }
  };

  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim() === '' || fatal) return;
    /** @type {RpcMessage} */
    let message;
    try {
      message = /** @type {RpcMessage} */ (JSON.parse(line));
    } catch {
      send({ id: null, error: { code: -32700, message: 'Parse error' } });
      return;
    }
    if (message.method === undefined && message.id !== undefined && message.id !== null) {
      // A response from the CLI, e.g. to a `print` request.
      const resolve = pendingClientRequests.get(message.id);
      pendingClientRequests.delete(message.id);
      resolve?.(message.result);
      return;
    }
    queue = queue.then(() => handle(message));
  });
  lines.on('close', () => {
    void queue.then(() => shutdown(0));
  });
}

let shuttingDown = false;

/** @param {number} code */
async function shutdown(code) {
  if (shuttingDown) return;
  shuttingDown = true;
  // Shadow databases first: dropping one needs a live administration connection.
  await Promise.allSettled([...pendingShadowDatabases.values()].map((cleanUp) => cleanUp()));
  await Promise.allSettled([...openAdapters].map((adapter) => adapter.dispose()));
  process.exit(code);
}

// ---------------------------------------------------------------------------------------------
// `cli` subcommands: plain pg, no wasm needed

/**
 * Runs `fn` with a one-off client; maps connection failures to the native engine's P-codes.
 *
 * @template T
 * @param {ConnectionSettings} settings
 * @param {(client: import('pg').Client) => Promise<T>} fn
 * @returns {Promise<T>}
 */
async function withClient(settings, fn) {
  const client = new pg.Client({ connectionTimeoutMillis: 10_000, ...settings.poolConfig });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw toConnectionError(error, settings);
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * @param {unknown} error
 * @param {ConnectionSettings} settings
 * @returns {Error & { code: string }}
 */
function toConnectionError(error, settings) {
  const pgCode = isRecord(error) && typeof error['code'] === 'string' ? error['code'] : '';
  const detail = error instanceof Error ? error.message : String(error);
  /** @type {[string, string]} */
  const [code, message] =
    pgCode === '3D000'
      ? [
          'P1003',
          `Database \`${settings.database}\` does not exist on the database server at \`${settings.display}\`.`,
        ]
      : pgCode === '28P01' || pgCode === '28000'
        ? [
            'P1000',
            `Authentication failed against database server at \`${settings.display}\`: ${detail}`,
          ]
        : pgCode === 'ECONNREFUSED' ||
            pgCode === 'ENOTFOUND' ||
            pgCode === 'EHOSTUNREACH' ||
            pgCode === 'ETIMEDOUT'
          ? ['P1001', `Can't reach database server at \`${settings.display}\`: ${detail}`]
          : ['P1000', detail];
  return Object.assign(new Error(message), { code });
}

/**
 * @param {string} url
 * @returns {Promise<string>} the database name
 */
async function createDatabase(url) {
  const settings = parseDatabaseUrl(url);
  const maintenance = { ...settings, poolConfig: { ...settings.poolConfig, database: 'postgres' } };
  await withClient(maintenance, async (client) => {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      settings.database,
    ]);
    if (existing.rowCount === 0)
      await client.query(`CREATE DATABASE ${quoteIdentifier(settings.database)}`);
  });
  return settings.database;
}

/**
 * @param {string} command
 * @param {DatasourceArg} datasource
 */
async function runCliCommand(command, datasource) {
  if (datasource.url === undefined) throw new Error('cli commands need --datasource with a url');
  const url = datasource.url;
  switch (command) {
    case 'can-connect-to-database':
      await withClient(parseDatabaseUrl(url), (client) => client.query('SELECT 1'));
      return;
    case 'create-database':
      log('INFO', `Database ${await createDatabase(url)} created successfully.`);
      return;
    case 'drop-database': {
      const settings = parseDatabaseUrl(url);
      const maintenance = {
        ...settings,
        poolConfig: { ...settings.poolConfig, database: 'postgres' },
      };
      await withClient(maintenance, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(settings.database)}`),
      );
      return;
    }
    default:
      throw new Error(`Unknown cli command: ${command}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Entry point

async function main() {
  const options = parseArguments(process.argv.slice(2));
  if (options.version) {
    process.stdout.write(`schema-engine-cli ${ENGINE_HASH}\n`);
    return;
  }
  if (options.help) {
    process.stdout.write(
      'schema-engine (wasm bridge from @strata/prisma-offline)\n' +
        'Usage: schema-engine [--datamodels <file>]... [--datasource \'{"url":…}\'] [cli <command>]\n',
    );
    return;
  }
  // The CLI drops the first stderr line before parsing the rest as JSON error lines (`cli` mode),
  // so it must be a harmless one.
  log('INFO', 'Starting schema engine (WebAssembly build via @strata/prisma-offline)', {
    git_hash: ENGINE_HASH,
  });
  reportCharColumnsAsText();
  if (options.cliCommand !== undefined) {
    try {
      await runCliCommand(options.cliCommand, options.datasource);
      trace({ cli: options.cliCommand, ok: true });
      process.exitCode = 0;
    } catch (error) {
      const code =
        isRecord(error) && typeof error['code'] === 'string' && error['code'].startsWith('P')
          ? error['code']
          : undefined;
      log(
        'ERROR',
        error instanceof Error ? error.message : String(error),
        { is_panic: false, error_code: code },
        'schema_engine::logger',
      );
      trace({ cli: options.cliCommand, ok: false, error_code: code });
      process.exitCode = 1;
    }
    return;
  }
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(130));
  // wasm-bindgen rethrows some engine failures (e.g. malformed params) from a microtask, outside
  // any promise we hold. Report them the way the native engine reports a crash.
  process.on('uncaughtException', (error) => {
    log('ERROR', error.stack ?? error.message, { is_panic: true }, 'schema_engine::logger');
    void shutdown(101);
  });
  await serveRpc(options.datamodels, options.datasource);
}

main().catch((error) => {
  log(
    'ERROR',
    error instanceof Error ? (error.stack ?? error.message) : String(error),
    { is_panic: false },
    'schema_engine::logger',
  );
  process.exit(1);
});
