-- One row per month, partner and flow ('export', 'import', and 'total' = both), in US dollars.
with

usd_trade as (
    select * from core.trade_finest_level
    where currency = 'USD'
),

by_flow as (
    select
        period,
        partner_code,
        flow,
        sum(value) as value_usd,
        count(distinct release_id) as release_count
    from usd_trade
    group by all
),

with_total as (
    select * from by_flow
    union all
    select
        period,
        partner_code,
        'total' as flow,
        sum(value_usd) as value_usd,
        sum(release_count) as release_count
    from by_flow
    group by all
),

compared as (
    select
        current_year.*,
        previous_year.value_usd as value_usd_prev_year
    from with_total as current_year
    left join with_total as previous_year
        on previous_year.partner_code = current_year.partner_code
       and previous_year.flow = current_year.flow
       and previous_year.period = cast(current_year.period - interval 1 year as date)
),

year_to_date as (
    select
        *,
        sum(value_usd) over year_so_far as ytd_value_usd,
        count(*) over year_so_far as ytd_months_covered
    from compared
    window year_so_far as (
        partition by partner_code, flow, year(period)
        order by period
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
    cast(year_to_date.release_count as integer) as release_count
from year_to_date
inner join staging.stg_partners as partners using (partner_code)
order by year_to_date.period, partners.partner_iso3, year_to_date.flow
