-- One row per year, half, partner, flow, commodity level and code: the half-year sums of
-- core.commodity_monthly, and the same months a year earlier. The figures of
-- marts.trade_by_commodity_half_year (a view adding the names), by code only.
-- A view, not a table: every figure is a sum, count, min or max over the monthly rows of the
-- half (release_count too: the mart adds release files up over the months), so it is added up
-- as it is read. Stored, it was 5.5M more rows to write at national scale, and a run that
-- touched one month rewrote its whole half (docs/benchmarks.md, "Half-year commodity figures
-- as a view"). Written so that a reader's filter on year, half, partner, flow, level or code
-- reaches the scans of core.commodity_monthly (whose zone maps then skip the other months,
-- levels and partners): no CTE is read twice, which DuckDB would materialise before filtering.
-- materialized: view
with

-- Every monthly row twice: under its own half, and under the same half a year later (as the
-- year earlier of that half) where the partner and flow traded in the month a year later; only
-- those months count in the comparison, not the whole earlier half.
both_years as (
    select
        year,
        half,
        partner_iso3,
        flow,
        hs_level,
        hs_code,
        value_usd,
        release_count,
        quantity,
        quantity_unit,
        true as is_this_year
    from core.commodity_monthly
    union all
    select
        -- the stored year plus one, not the later month's: so `year = 2025` reaches this scan
        -- as `year + 1 = 2025`
        earlier.year + 1 as year,
        earlier.half,
        earlier.partner_iso3,
        earlier.flow,
        earlier.hs_level,
        earlier.hs_code,
        earlier.value_usd,
        null as release_count,
        earlier.quantity,
        earlier.quantity_unit,
        false as is_this_year
    from core.commodity_monthly as earlier
    -- one row per partner, flow and month: an inner join keeps each earlier row at most once
    inner join core.commodity_partner_months as later_month
        on later_month.period_a_year_earlier = earlier.period
       and later_month.partner_iso3 = earlier.partner_iso3
       and later_month.flow = earlier.flow
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
    from core.commodity_partner_months as this_month
    left join core.commodity_partner_months as earlier_month
        on earlier_month.period = this_month.period_a_year_earlier
       and earlier_month.partner_iso3 = this_month.partner_iso3
       and earlier_month.flow = this_month.flow
    group by all
),

-- One pass over both years: the half's own figures and those of the same months a year earlier.
halves as (
    select
        year,
        half,
        partner_iso3,
        flow,
        hs_level,
        hs_code,
        sum(value_usd) filter (where is_this_year) as value_usd,
        count(*) filter (where is_this_year) as months_with_trade,
        sum(release_count) filter (where is_this_year) as release_count,
        -- every month's figure has a quantity, all in one unit: else no quantity for the half
        count(quantity) filter (where is_this_year) = count(*) filter (where is_this_year)
            and min(quantity_unit) filter (where is_this_year)
                = max(quantity_unit) filter (where is_this_year) as one_unit,
        min(quantity_unit) filter (where is_this_year) as quantity_unit,
        sum(quantity) filter (where is_this_year) as quantity,
        sum(value_usd) filter (where not is_this_year) as earlier_value_usd,
        count(quantity) filter (where not is_this_year) = count(*) filter (where not is_this_year)
            and min(quantity_unit) filter (where not is_this_year)
                = max(quantity_unit) filter (where not is_this_year) as earlier_one_unit,
        min(quantity_unit) filter (where not is_this_year) as earlier_quantity_unit,
        sum(quantity) filter (where not is_this_year) as earlier_quantity
    from both_years
    group by year, half, partner_iso3, flow, hs_level, hs_code
    -- a code has a row only in halves where it traded
    having bool_or(is_this_year)
),

compared as (
    select
        halves.*,
        case when comparable.is_comparable then halves.earlier_value_usd end
            as value_usd_prev_year,
        -- a quantity a year earlier only in the same unit as now: volumes compare like with like
        case
            when comparable.is_comparable and halves.earlier_one_unit and halves.one_unit
             and halves.earlier_quantity_unit = halves.quantity_unit
                then halves.earlier_quantity
        end as quantity_prev_year
    from halves
    left join comparable using (year, half, partner_iso3, flow)
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
