// The stock Prisma 7 config (see @strata/prisma-offline): `strata-prisma` runs the unmodified CLI
// against it, with or without a native schema engine.
import { defineConfig, env } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: env('DATABASE_URL') },
});
