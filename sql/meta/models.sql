-- How each select model was last built (src/customs_etl/load/models.py). A mart declared
-- `-- materialized: incremental ...` may rebuild only the months a run touched while its
-- checksum here matches; otherwise it is rebuilt in full. Maintained by the runner.
create table if not exists meta.models (
    model varchar primary key,          -- schema.table
    checksum varchar not null,          -- SHA-256 of its SQL, the SQL upstream and the seeds read
    materialized varchar not null,      -- 'view' | 'table' | 'incremental'
    last_build varchar not null,        -- 'full' | 'units' (only the touched months' units)
    months_rebuilt integer,             -- months whose rows the last 'units' build replaced
    built_at timestamp not null         -- UTC
);
