-- Lineage: one row per month, partner, flow, currency and release file behind
-- marts.trade_monthly, with the rows and value that file contributed. Every mart figure
-- traces to its files here, whether it comes from detailed data or a preliminary table.
with

detailed as (
    select
        period,
        partner_code,
        flow,
        currency,
        release_id,
        cast(1 as tinyint) as months_covered,
        'detailed' as source_kind,
        sum(row_count) as row_count,
        sum(value) as value
    -- already added up per release (one row per release here, at the finest level)
    from core.trade_finest_level_totals
    -- the years being rebuilt (null: all)
    where getvariable('touched_periods') is null
       or list_contains(getvariable('touched_periods'), period)
    group by period, partner_code, flow, currency, release_id
),

preliminary as (
    select
        period_start as period,
        partner_code,
        flow,
        currency,
        release_ids[1] as release_id,
        months_covered,
        source_kind,
        1 as row_count,
        value
    from core.trade_partner_month
    where source_kind = 'preliminary'
      and (getvariable('touched_periods') is null
           or list_contains(getvariable('touched_periods'), period_start))
),

contributions as (
    select * from detailed
    union all
    select * from preliminary
)

select
    contributions.period,
    partners.partner_iso3,
    contributions.flow,
    contributions.release_id,
    releases.source_name,
    releases.received_at,
    cast(contributions.row_count as bigint) as row_count,
    cast(case when contributions.currency = 'USD' then contributions.value end as bigint)
        as value_usd,
    contributions.currency,
    cast(contributions.value as bigint) as value,
    contributions.source_kind,
    cast(contributions.months_covered as integer) as months_covered,
    releases.published_on
from contributions
inner join staging.stg_partners as partners using (partner_code)
inner join meta.releases as releases using (release_id)
order by
    contributions.period,
    partners.partner_iso3,
    contributions.flow,
    contributions.currency,
    releases.source_name
