// Prisma config of the queue package's test database (the outbox model plus a business table),
// the same stock shape every service uses. Generated and migrated through `strata-prisma`.
import { defineConfig, env } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: env('DATABASE_URL') },
});
