-- The release registry: one row per file ever seen, identified by the SHA-256 of its bytes.
-- Incrementally maintained by the job (DDL, not a select model).
create table if not exists meta.releases (
    release_id varchar primary key,     -- SHA-256 of the file's bytes
    source_name varchar not null,       -- landing-relative path, or the name of an ingested file
    kind varchar not null,              -- 'detailed_export' (preliminary tables come later)
    flow varchar,                       -- 'export' | 'import'
    period date,                        -- first day of the month the file covers
    currency varchar,                   -- 'USD' | 'CNY'
    hs_level integer,                   -- commodity-code length in the file: 2, 4, 6 or 8
    dialect varchar,                    -- 'gacc_query_en' | 'gacc_query_zh'
    encoding varchar,                   -- 'utf-8' | 'gb18030' (CSV) | 'xlsx'
    size_bytes bigint not null,
    row_count bigint,
    value_total bigint,                 -- sum of the file's value column, for reconciliation
    status varchar not null,            -- 'loaded' | 'rejected'
    error varchar,                      -- why a rejected release was rejected
    received_at timestamp not null,     -- when the job first saw these bytes (orders vintages)
    loaded_at timestamp
);
