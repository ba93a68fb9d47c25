-- Agent names become unique per company, whatever their case. Agents that already share a name keep
-- it for the oldest (created_at, then id); each later one is renamed "<name> (2)", "<name> (3)", ...,
-- the first suffix free in its company. The table is locked first, so that an instance still running
-- the previous version cannot add a duplicate between the renames and the index.
LOCK TABLE "agents" IN SHARE ROW EXCLUSIVE MODE;--> statement-breakpoint
DO $$
DECLARE
  later record;
  suffix integer;
BEGIN
  FOR later IN
    SELECT "id", "company_id", "name"
    FROM (
      SELECT "id", "company_id", "name",
        row_number() OVER (PARTITION BY "company_id", lower("name") ORDER BY "created_at", "id") AS "position"
      FROM "agents"
    ) AS "ranked"
    WHERE "position" > 1
    ORDER BY "company_id", lower("name"), "position"
  LOOP
    suffix := 2;
    WHILE EXISTS (
      SELECT 1 FROM "agents"
      WHERE "company_id" = later."company_id" AND lower("name") = lower(later."name" || ' (' || suffix || ')')
    ) LOOP
      suffix := suffix + 1;
    END LOOP;
    UPDATE "agents" SET "name" = later."name" || ' (' || suffix || ')', "updated_at" = now() WHERE "id" = later."id";
  END LOOP;
END
$$;--> statement-breakpoint
CREATE UNIQUE INDEX "agents_company_name_uq" ON "agents" ("company_id",lower("name"));
