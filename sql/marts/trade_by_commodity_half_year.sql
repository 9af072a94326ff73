-- One row per year, half, partner, flow, commodity level and code: the half-year sums of
-- marts.trade_by_commodity_monthly, with the same months a year earlier.
-- materialized: incremental by half and a year later
with

monthly as (
    select * from marts.trade_by_commodity_monthly
    -- the halves being rebuilt (null: all) and the same halves a year earlier, for
    -- value_usd_prev_year
    where getvariable('touched_periods') is null
       or list_contains(
           list_concat(
               getvariable('touched_periods'),
               [cast(first_day - interval 1 year as date)
                for first_day in cast(getvariable('touched_periods') as date[])]
           ),
           period
       )
),

keyed as (
    select
        cast(year(period) as integer) as year,
        case when month(period) <= 6 then 'H1' else 'H2' end as half,
        month(period) as month,
        partner_iso3,
        flow,
        hs_level,
        hs_code,
        value_usd,
        release_count
    from monthly
),

-- Added up by key only: the names are joined on at the end (one per partner_iso3, and per
-- hs_code and hs_level, in the seeds, as in the monthly mart); carried through the sums and
-- the year-earlier join they took most of the memory, more than 1 GB at national scale.
halves as (
    select
        year,
        half,
        partner_iso3,
        flow,
        hs_level,
        hs_code,
        sum(value_usd) as value_usd,
        count(*) as months_with_trade,
        sum(release_count) as release_count
    from keyed
    group by year, half, partner_iso3, flow, hs_level, hs_code
),

compared as (
    select
        current_half.*,
        previous_half.value_usd as value_usd_prev_year
    from halves as current_half
    left join halves as previous_half
        on previous_half.year = current_half.year - 1
       and previous_half.half = current_half.half
       and previous_half.partner_iso3 = current_half.partner_iso3
       and previous_half.flow = current_half.flow
       and previous_half.hs_level = current_half.hs_level
       and previous_half.hs_code = current_half.hs_code
)

select
    compared.year,
    compared.half,
    compared.partner_iso3,
    partners.partner_name_en as partner_name,
    compared.flow,
    compared.hs_level,
    compared.hs_code,
    commodities.description_en as hs_description,
    cast(value_usd as bigint) as value_usd,
    cast(value_usd_prev_year as bigint) as value_usd_prev_year,
    case
        when value_usd_prev_year > 0
            then round(100.0 * (value_usd - value_usd_prev_year) / value_usd_prev_year, 1)
    end as yoy_pct,
    cast(months_with_trade as integer) as months_with_trade,
    cast(release_count as integer) as release_count
from compared
inner join staging.stg_partners as partners using (partner_iso3)
left join staging.stg_commodities as commodities
    on commodities.hs_code = compared.hs_code
   and commodities.hs_level = compared.hs_level
