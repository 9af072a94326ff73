-- One row per year, partner and flow; months_covered says whether the year is complete.
with

monthly as (
    -- the US-dollar series (a month with only a yuan figure has no dollar value to add)
    select * from marts.trade_monthly
    where value_usd is not null
      -- the years being rebuilt (null: all)
      and (getvariable('touched_periods') is null
           or list_contains(getvariable('touched_periods'), period))
),

years as (
    select
        year,
        partner_iso3,
        partner_name,
        partner_code,
        flow,
        sum(value_usd) as value_usd,
        sum(value_usd_prev_year) as value_usd_prev_year,
        sum(months_covered) as months_covered,
        sum(case when value_usd_prev_year is not null then months_covered end)
            as months_covered_prev_year,
        sum(release_count) as release_count,
        max(source_kind) as source_kind
    from monthly
    group by all
)

select
    cast(year as integer) as year,
    partner_iso3,
    partner_name,
    partner_code,
    flow,
    cast(value_usd as bigint) as value_usd,
    cast(case when months_covered_prev_year = months_covered then value_usd_prev_year end
         as bigint) as value_usd_prev_year,
    case
        when months_covered_prev_year = months_covered and value_usd_prev_year > 0
            then round(100.0 * (value_usd - value_usd_prev_year) / value_usd_prev_year, 1)
    end as yoy_pct,
    cast(months_covered as integer) as months_covered,
    cast(release_count as integer) as release_count,
    source_kind
from years
order by year, partner_iso3, flow
