-- One row per flow: how fresh the published data is, for a dashboard's "data as of" line.
with

monthly as (
    select
        flow,
        max(period_end) as latest_period,
        max(period_end) filter (where source_kind = 'detailed') as latest_detailed_period
    from marts.trade_monthly
    where flow <> 'total'
    group by flow
),

releases as (
    select
        flow,
        max(received_at) as latest_received_at,
        max(loaded_at) as latest_loaded_at,
        count(*) filter (where status = 'loaded') as releases_loaded,
        count(*) filter (where status = 'rejected') as releases_rejected
    from meta.releases
    where kind = 'detailed_export'
    group by flow
),

preliminary as (
    select
        count(*) filter (where status = 'loaded') as tables_loaded,
        count(*) filter (where status = 'rejected') as tables_rejected
    from meta.releases
    where kind = 'preliminary_table'
)

select
    monthly.flow,
    monthly.latest_period,
    releases.latest_received_at,
    releases.latest_loaded_at,
    cast(releases.releases_loaded as integer) as releases_loaded,
    cast(releases.releases_rejected as integer) as releases_rejected,
    (select max(finished_at) from meta.runs) as last_run_finished_at,
    monthly.latest_detailed_period,
    cast(preliminary.tables_loaded as integer) as preliminary_tables_loaded,
    cast(preliminary.tables_rejected as integer) as preliminary_tables_rejected
from monthly
left join releases using (flow)
cross join preliminary
order by monthly.flow
