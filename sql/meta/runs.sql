-- One row per run of the job that changed the warehouse.
create table if not exists meta.runs (
    run_id varchar primary key,
    started_at timestamp not null,
    finished_at timestamp not null,
    status varchar not null,            -- 'completed' | 'completed_with_rejections'
    releases_seen integer not null,
    releases_loaded integer not null,
    releases_skipped integer not null,  -- already loaded with the same checksum
    releases_rejected integer not null,
    rows_loaded bigint not null
);
