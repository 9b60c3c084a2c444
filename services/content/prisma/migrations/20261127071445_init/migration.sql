-- CreateEnum
CREATE TYPE "article_status" AS ENUM ('draft', 'published');

-- CreateEnum
CREATE TYPE "media_kind" AS ENUM ('image', 'pdf');

-- CreateEnum
CREATE TYPE "media_status" AS ENUM ('processing', 'ready', 'failed');

-- CreateTable
CREATE TABLE "articles" (
    "id" UUID NOT NULL,
    "slug" VARCHAR(100) NOT NULL,
    "title" VARCHAR(200) NOT NULL,
    "body" TEXT NOT NULL,
    "excerpt" VARCHAR(200) NOT NULL,
    "author_id" UUID NOT NULL,
    "status" "article_status" NOT NULL DEFAULT 'draft',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "published_at" TIMESTAMPTZ(3),
    -- Hand-edited: maintained by PostgreSQL itself, so no write path can forget it. Title words
    -- weigh more than body words in ts_rank.
    "search_vector" tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, coalesce("title", '')), 'A') ||
        setweight(to_tsvector('english'::regconfig, coalesce("body", '')), 'B')
    ) STORED,

    CONSTRAINT "articles_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "article_tags" (
    "article_id" UUID NOT NULL,
    "tag" VARCHAR(32) NOT NULL,
    "published_at" TIMESTAMPTZ(3),

    CONSTRAINT "article_tags_pkey" PRIMARY KEY ("article_id","tag")
);

-- CreateTable
CREATE TABLE "comments" (
    "id" UUID NOT NULL,
    "article_id" UUID NOT NULL,
    "author_id" UUID NOT NULL,
    "body" VARCHAR(5000) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "comments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "media" (
    "id" UUID NOT NULL,
    "owner_id" UUID NOT NULL,
    "filename" VARCHAR(255) NOT NULL,
    "kind" "media_kind" NOT NULL,
    "content_type" VARCHAR(64) NOT NULL,
    "size_bytes" INTEGER NOT NULL,
    "sha256" CHAR(64) NOT NULL,
    "status" "media_status" NOT NULL DEFAULT 'processing',
    "failure_reason" VARCHAR(200),
    "width" INTEGER NOT NULL DEFAULT 0,
    "height" INTEGER NOT NULL DEFAULT 0,
    "page_count" INTEGER NOT NULL DEFAULT 0,
    "variants" JSONB NOT NULL DEFAULT '[]',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "media_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbox_events" (
    "id" UUID NOT NULL,
    "queue" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "context" JSONB,
    "options" JSONB NOT NULL,
    "delay_ms" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "articles_slug_key" ON "articles"("slug");

-- CreateIndex
CREATE INDEX "comments_article_created_idx" ON "comments"("article_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "media_owner_created_idx" ON "media"("owner_id", "created_at");

-- CreateIndex
CREATE INDEX "outbox_events_published_at_created_at_idx" ON "outbox_events"("published_at", "created_at");

-- AddForeignKey
ALTER TABLE "article_tags" ADD CONSTRAINT "article_tags_article_id_fkey" FOREIGN KEY ("article_id") REFERENCES "articles"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "comments" ADD CONSTRAINT "comments_article_id_fkey" FOREIGN KEY ("article_id") REFERENCES "articles"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-edited indexes below: partial and descending indexes that schema.prisma cannot express.
-- Each serves one list path of ListArticles (the EXPLAIN tests assert they are used).

-- Newest published articles: (published_at, id) descending, the keyset order of every list.
CREATE INDEX "articles_published_idx" ON "articles"("published_at" DESC, "id" DESC) WHERE "status" = 'published';

-- Newest published articles of one author.
CREATE INDEX "articles_author_published_idx" ON "articles"("author_id", "published_at" DESC, "id" DESC) WHERE "status" = 'published';

-- Newest published articles with one tag (published_at is copied onto the tag rows on publish).
CREATE INDEX "article_tags_tag_published_idx" ON "article_tags"("tag", "published_at" DESC, "article_id" DESC) WHERE "published_at" IS NOT NULL;

-- Full-text search. fastupdate off: new rows go straight into the index instead of a pending list
-- that every search must scan until vacuum merges it; articles are written rarely and searched
-- often, so steady search cost beats cheaper inserts.
CREATE INDEX "articles_search_idx" ON "articles" USING GIN ("search_vector") WITH (fastupdate = off);
