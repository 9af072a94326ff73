-- The versions `customs-etl rollback` can publish again (embedded backend; the lake keeps
-- snapshots instead): each publication's releases, kept for CUSTOMS_KEEP_VERSIONS earlier
-- publications besides the current one (src/customs_etl/publish/versions.py). Written by
-- each publication (DDL, not a select model).
create table if not exists meta.versions (
    version varchar primary key,        -- the name it was published as: customs-<UTC stamp>.duckdb
    published_at timestamp not null,    -- UTC
    release_ids varchar[] not null      -- every release in meta.releases then (loaded or rejected)
);
