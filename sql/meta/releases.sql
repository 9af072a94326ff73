-- The release registry: one row per file ever seen, identified by the SHA-256 of its bytes.
-- Incrementally maintained by the job (DDL, not a select model).
create table if not exists meta.releases (
    release_id varchar primary key,     -- SHA-256 of the file's bytes
    source_name varchar not null,       -- landing-relative path, the name of an ingested file, or URL
    kind varchar not null,              -- 'detailed_export' | 'preliminary_table'
    flow varchar,                       -- 'export' | 'import'; null for a preliminary table
    period date,                        -- first day of the (last) month the file covers
    currency varchar,                   -- 'USD' | 'CNY'
    hs_level integer,                   -- commodity-code length in the file: 2, 4, 6 or 8
    dialect varchar,                    -- 'gacc_query_en' | 'gacc_query_zh' | 'gacc_preliminary_table_4'
    encoding varchar,                   -- 'utf-8' | 'gb18030' | 'xlsx' | 'html'
    size_bytes bigint not null,
    row_count bigint,
    value_total bigint,                 -- sum of the file's value column, for reconciliation
    status varchar not null,            -- 'loaded' | 'rejected'
    error varchar,                      -- why a rejected release was rejected
    received_at timestamp not null,     -- when the job first saw these bytes
    loaded_at timestamp,
    slot_name varchar,                  -- source_name without its publication date: vintages share it
    published_on date,                  -- when GACC published it, where known (orders vintages)
    months_covered tinyint              -- 2 for a January-February preliminary table, else 1
);
-- Warehouses published before these columns existed get them (null: received_at orders them).
alter table meta.releases add column if not exists slot_name varchar;
alter table meta.releases add column if not exists published_on date;
alter table meta.releases add column if not exists months_covered tinyint;
