-- Lineage: one row per month, partner, flow and release file behind marts.trade_monthly,
-- with the rows and value that file contributed. Every mart figure traces to its files here.
with

usd_trade as (
    select * from core.trade_finest_level
    where currency = 'USD'
),

contributions as (
    select
        period,
        partner_code,
        flow,
        release_id,
        count(*) as row_count,
        sum(value) as value_usd
    from usd_trade
    group by all
)

select
    contributions.period,
    partners.partner_iso3,
    contributions.flow,
    contributions.release_id,
    releases.source_name,
    releases.received_at,
    cast(contributions.row_count as bigint) as row_count,
    cast(contributions.value_usd as bigint) as value_usd
from contributions
inner join staging.stg_partners as partners using (partner_code)
inner join meta.releases as releases using (release_id)
order by contributions.period, partners.partner_iso3, contributions.flow, releases.source_name
