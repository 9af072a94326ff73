-- One row per year, half, partner, flow and BEC rev. 4 category (or reason a value has none):
-- trade by broad end use. A 6-digit code is classified by UNSD's HS to BEC table of the
-- month's edition (HS 2022 from 2022, else HS 2017: HS 2012 codes of 2012-2016 are read in
-- the HS 2017 table, where most are unchanged); a code with several BEC categories is not
-- split by guess and trade below 6 digits cannot be classified: both are rows of their own
-- (allocation), so the rows of a partner, flow and half add up to its trade.
with

monthly as not materialized (
    select * from core.commodity_monthly
    -- the halves being rebuilt (null: all)
    where getvariable('touched_periods') is null
       or list_contains(getvariable('touched_periods'), period)
),

-- Every partner-month at 6 digits or more has 6-digit rows; one at 2 or 4 has 2-digit rows.
finest as (
    select period, partner_iso3, flow, max(hs_level) as hs_level
    from monthly
    group by period, partner_iso3, flow
),

tables_by_month as (
    select
        finest.period,
        finest.partner_iso3,
        finest.flow,
        finest.hs_level,
        case when editions.hs_edition = 'HS2022' then 'HS2022' else 'HS2017' end as bec_table
    from finest
    left join staging.stg_hs_editions as editions
        on finest.period >= editions.first_period
       and (editions.last_period is null or finest.period <= editions.last_period)
),

categories_of_code as (
    select hs_edition, hs6_code, count(*) as categories, min(bec4_code) as bec4_code
    from staging.stg_hs_bec4
    where bec4_code is not null
    group by hs_edition, hs6_code
),

classified as (
    select
        monthly.period,
        monthly.partner_iso3,
        monthly.flow,
        case
            when by_code.categories = 1 then 'one_category'
            when by_code.categories > 1 then 'several_categories'
            else 'no_category'
        end as allocation,
        case when by_code.categories = 1 then by_code.bec4_code end as bec4_code,
        monthly.value_usd
    from monthly
    inner join tables_by_month using (period, partner_iso3, flow)
    left join categories_of_code as by_code
        on by_code.hs_edition = tables_by_month.bec_table
       and by_code.hs6_code = monthly.hs_code
    where tables_by_month.hs_level >= 6 and monthly.hs_level = 6
    union all
    select
        monthly.period,
        monthly.partner_iso3,
        monthly.flow,
        'below_6_digits' as allocation,
        null as bec4_code,
        monthly.value_usd
    from monthly
    inner join tables_by_month using (period, partner_iso3, flow)
    where tables_by_month.hs_level < 6 and monthly.hs_level = 2
)

select
    cast(year(classified.period) as integer) as year,
    case when month(classified.period) <= 6 then 'H1' else 'H2' end as half,
    classified.partner_iso3,
    classified.flow,
    categories.end_use,
    classified.bec4_code,
    categories.description as bec4_description,
    classified.allocation,
    cast(sum(classified.value_usd) as bigint) as value_usd,
    cast(count(distinct classified.period) as integer) as months_with_trade
from classified
left join staging.stg_bec4_categories as categories using (bec4_code)
group by all
