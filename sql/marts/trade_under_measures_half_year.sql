-- Half-year sums of marts.trade_under_measures_monthly, by measure (and prefix), flow and
-- whether the measure was in force: a half in which a measure took effect has one row for the
-- months before (in_force = false) and one for the months from then on.
with

monthly as (
    select * from marts.trade_under_measures_monthly
    -- the halves being rebuilt (null: all)
    where getvariable('touched_periods') is null
       or list_contains(getvariable('touched_periods'), period)
)

select
    year,
    case when month <= 6 then 'H1' else 'H2' end as half,
    partner_iso3,
    resolution,
    paragraph,
    measure_id,
    kind,
    direction,
    flow,
    commodity,
    hs_prefix,
    hs_source,
    effective_date,
    in_force_until,
    in_force,
    cast(sum(value_usd) as bigint) as value_usd,
    cast(max(line_count) as integer) as max_monthly_line_count,
    cast(count(*) as integer) as months_with_trade,
    case when count(distinct quantity_unit) = 1 and count(quantity) = count(*)
        then sum(quantity) end as quantity,
    case when count(distinct quantity_unit) = 1 and count(quantity) = count(*)
        then any_value(quantity_unit) end as quantity_unit,
    cap_quantity,
    cap_unit,
    cap_note,
    verified
from monthly
group by all
order by year, half, flow, measure_id, in_force
