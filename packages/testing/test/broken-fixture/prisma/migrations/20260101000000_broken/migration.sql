-- Fails on purpose: createTestDatabase must report the CLI's error and drop the database.
CREATE TABLE "widgets" ("id" INTEGER NOT NULL PRIMARY KEY);
SELECT strata_no_such_function();
