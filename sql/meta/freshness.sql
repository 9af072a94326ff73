-- One row per flow: how fresh the published data is, for a dashboard's "data as of" line.
with

monthly as (
    select flow, max(period) as latest_period
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
    group by flow
)

select
    monthly.flow,
    monthly.latest_period,
    releases.latest_received_at,
    releases.latest_loaded_at,
    cast(releases.releases_loaded as integer) as releases_loaded,
    cast(releases.releases_rejected as integer) as releases_rejected,
    (select max(finished_at) from meta.runs) as last_run_finished_at
from monthly
left join releases using (flow)
order by monthly.flow
