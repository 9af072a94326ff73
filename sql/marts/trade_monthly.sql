-- One row per month, partner and flow ('export', 'import', and 'total' = both). US dollars and
-- Chinese yuan are separate series (never converted); the year-on-year and year-to-date
-- columns are the US-dollar series. A January-February cumulative without monthly detail is
-- one row with months_covered = 2 (period = January, period_end = February).
with

figures as (
    select * from core.trade_partner_month
    -- the years being rebuilt (null: all) and the year before, for value_usd_prev_year
    where getvariable('touched_periods') is null
       or list_contains(
           list_concat(
               getvariable('touched_periods'),
               [cast(first_day - interval 1 year as date)
                for first_day in cast(getvariable('touched_periods') as date[])]
           ),
           period_start
       )
),

by_currency as (
    select
        coalesce(usd.period_start, cny.period_start) as period,
        coalesce(usd.period, cny.period) as period_end,
        coalesce(usd.months_covered, cny.months_covered) as months_covered,
        coalesce(usd.partner_code, cny.partner_code) as partner_code,
        coalesce(usd.flow, cny.flow) as flow,
        usd.value as value_usd,
        cny.value as value_cny,
        coalesce(usd.source_kind, cny.source_kind) as source_kind,
        len(coalesce(usd.release_ids, cny.release_ids)) as release_count
    from (select * from figures where currency = 'USD') as usd
    full outer join (select * from figures where currency = 'CNY') as cny
        on cny.period_start = usd.period_start
       and cny.period = usd.period
       and cny.partner_code = usd.partner_code
       and cny.flow = usd.flow
),

with_total as (
    select * from by_currency
    union all
    select
        period,
        period_end,
        months_covered,
        partner_code,
        'total' as flow,
        sum(value_usd) as value_usd,
        sum(value_cny) as value_cny,
        -- the weaker source of the two flows: a total is only as final as its parts
        max(source_kind) as source_kind,
        sum(release_count) as release_count
    from by_currency
    group by period, period_end, months_covered, partner_code
),

compared as (
    select
        current_year.*,
        previous_year.value_usd as value_usd_prev_year
    from with_total as current_year
    left join with_total as previous_year
        on previous_year.partner_code = current_year.partner_code
       and previous_year.flow = current_year.flow
       and previous_year.months_covered = current_year.months_covered
       and previous_year.period = cast(current_year.period - interval 1 year as date)
),

year_to_date as (
    select
        *,
        sum(value_usd) over year_so_far as ytd_value_usd,
        sum(case when value_usd is not null then months_covered end) over year_so_far
            as ytd_months_covered
    from compared
    window year_so_far as (
        partition by partner_code, flow, year(period)
        order by period, period_end
        rows between unbounded preceding and current row
    )
)

select
    year_to_date.period,
    cast(year(year_to_date.period) as integer) as year,
    cast(month(year_to_date.period) as integer) as month,
    partners.partner_iso3,
    partners.partner_name_en as partner_name,
    year_to_date.partner_code,
    year_to_date.flow,
    cast(year_to_date.value_usd as bigint) as value_usd,
    cast(year_to_date.value_usd_prev_year as bigint) as value_usd_prev_year,
    case
        when year_to_date.value_usd_prev_year > 0
            then round(100.0 * (year_to_date.value_usd - year_to_date.value_usd_prev_year)
                       / year_to_date.value_usd_prev_year, 1)
    end as yoy_pct,
    cast(year_to_date.ytd_value_usd as bigint) as ytd_value_usd,
    cast(year_to_date.ytd_months_covered as integer) as ytd_months_covered,
    cast(year_to_date.release_count as integer) as release_count,
    year_to_date.period_end,
    cast(year_to_date.months_covered as integer) as months_covered,
    year_to_date.source_kind,
    cast(year_to_date.value_cny as bigint) as value_cny
from year_to_date
inner join staging.stg_partners as partners using (partner_code)
order by year_to_date.period, partners.partner_iso3, year_to_date.flow
