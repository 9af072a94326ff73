-- One row per year, half, partner, flow, commodity level and code: the half-year sums of
-- core.commodity_monthly, and the same months a year earlier. The figures of
-- marts.trade_by_commodity_half_year (a view adding the names), by code only.
-- materialized: incremental by half and a year later
with

-- `not materialized`: keyed is read three times (months traded, sums, the year earlier); as a
-- materialized CTE a half's ~10M national rows were held (and spilled) at a 500MB budget, which
-- took 2x the time of scanning the mart again.
monthly as not materialized (
    select * from core.commodity_monthly
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

keyed as not materialized (
    select
        cast(year(period) as integer) as year,
        case when month(period) <= 6 then 'H1' else 'H2' end as half,
        period,
        partner_iso3,
        flow,
        hs_level,
        hs_code,
        value_usd,
        release_count,
        quantity,
        quantity_unit
    from monthly
),

-- The months in which a partner and flow traded: every such month has chapter (2-digit) rows.
partner_months as (
    select distinct year, half, period, partner_iso3, flow
    from keyed
    where hs_level = 2
),

-- As in marts.trade_half_year, a half compares with a year earlier only when the partner and
-- flow traded in each of its months a year earlier too (a half still being filled compares
-- with those months, not with the whole earlier half).
comparable as (
    select
        this_month.year,
        this_month.half,
        this_month.partner_iso3,
        this_month.flow,
        bool_and(earlier_month.period is not null) as is_comparable
    from partner_months as this_month
    left join partner_months as earlier_month
        on earlier_month.partner_iso3 = this_month.partner_iso3
       and earlier_month.flow = this_month.flow
       and earlier_month.period = cast(this_month.period - interval 1 year as date)
    group by all
),

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
        sum(release_count) as release_count,
        -- every month's figure has a quantity, all in one unit: else no quantity for the half
        count(quantity) = count(*) and min(quantity_unit) = max(quantity_unit) as one_unit,
        min(quantity_unit) as quantity_unit,
        sum(quantity) as quantity
    from keyed
    -- the halves being rebuilt only (null: all), not the year-earlier months read for earlier
    where getvariable('touched_periods') is null
       or list_contains(getvariable('touched_periods'), period)
    group by year, half, partner_iso3, flow, hs_level, hs_code
),

-- Each code's value in the months a year before those its partner and flow traded in, under
-- the year it is compared in. Only those months are added up, not the whole earlier half.
earlier as (
    select
        keyed.year + 1 as year,
        keyed.half,
        keyed.partner_iso3,
        keyed.flow,
        keyed.hs_level,
        keyed.hs_code,
        sum(keyed.value_usd) as value_usd,
        count(keyed.quantity) = count(*) and min(keyed.quantity_unit) = max(keyed.quantity_unit)
            as one_unit,
        min(keyed.quantity_unit) as quantity_unit,
        sum(keyed.quantity) as quantity
    from keyed
    semi join partner_months as later_month
        on later_month.partner_iso3 = keyed.partner_iso3
       and later_month.flow = keyed.flow
       and later_month.period = cast(keyed.period + interval 1 year as date)
    -- only the months a year before those being rebuilt can count: the others skip the join
    where getvariable('touched_periods') is null
       or list_contains(
           getvariable('touched_periods'), cast(keyed.period + interval 1 year as date)
       )
    group by all
),

compared as (
    select
        halves.*,
        case when comparable.is_comparable then earlier.value_usd end as value_usd_prev_year,
        -- a quantity a year earlier only in the same unit as now: volumes compare like with like
        case
            when comparable.is_comparable and earlier.one_unit and halves.one_unit
             and earlier.quantity_unit = halves.quantity_unit
                then earlier.quantity
        end as quantity_prev_year
    from halves
    left join comparable using (year, half, partner_iso3, flow)
    left join earlier using (year, half, partner_iso3, flow, hs_level, hs_code)
)

select
    year,
    half,
    partner_iso3,
    flow,
    hs_level,
    hs_code,
    cast(value_usd as bigint) as value_usd,
    cast(value_usd_prev_year as bigint) as value_usd_prev_year,
    case
        when value_usd_prev_year > 0
            then round(100.0 * (value_usd - value_usd_prev_year) / value_usd_prev_year, 1)
    end as yoy_pct,
    cast(months_with_trade as integer) as months_with_trade,
    cast(release_count as integer) as release_count,
    case when one_unit then quantity end as quantity,
    case when one_unit then quantity_unit end as quantity_unit,
    case when one_unit and quantity > 0 then value_usd / quantity end as unit_value_usd,
    quantity_prev_year,
    case when quantity_prev_year > 0 then value_usd_prev_year / quantity_prev_year end
        as unit_value_usd_prev_year
from compared
