-- China's trade with the DPRK (GACC 109) in the 8-digit lines each UN Security Council measure
-- covers, by month: a line is covered when its code starts with the measure's prefix and its
-- flow matches the measure's direction (to_dprk = China's exports, from_dprk = China's
-- imports). Trade in months before a measure took effect (or after it was replaced) is kept
-- with in_force = false, never shown as trade under the measure.
with

lines as (
    select
        period,
        flow,
        hs_code,
        value,
        quantity,
        quantity_unit
    from core.trade_finest_level
    where currency = 'USD'
      and partner_code = '109'
      and hs_level = 8
      -- a run rebuilds only the months it touched (null: all)
      and (getvariable('touched_periods') is null
           or list_contains(getvariable('touched_periods'), period))
),

measures as (
    select * from staging.stg_unsc_measures
),

matched as (
    select
        lines.period,
        measures.measure_id,
        lines.flow,
        sum(lines.value) as value_usd,
        count(distinct lines.hs_code) as line_count,
        count(distinct lines.quantity_unit) as unit_count,
        any_value(lines.quantity_unit) as quantity_unit,
        sum(lines.quantity) as quantity
    from lines
    inner join measures
        on measures.flow = lines.flow
       and lines.hs_code like measures.hs_prefix || '%'
    group by all
)

select
    matched.period,
    cast(year(matched.period) as integer) as year,
    cast(month(matched.period) as integer) as month,
    'PRK' as partner_iso3,
    measures.resolution,
    measures.paragraph,
    matched.measure_id,
    measures.kind,
    measures.direction,
    matched.flow,
    measures.commodity,
    measures.hs_prefix,
    measures.hs_source,
    measures.effective_date,
    measures.in_force_until,
    (last_day(matched.period) >= measures.effective_date
        and (measures.in_force_until is null or matched.period <= measures.in_force_until))
        as in_force,
    cast(matched.value_usd as bigint) as value_usd,
    cast(matched.line_count as integer) as line_count,
    case when matched.unit_count = 1 then matched.quantity end as quantity,
    case when matched.unit_count = 1 then matched.quantity_unit end as quantity_unit,
    measures.cap_quantity,
    measures.cap_unit,
    measures.cap_note,
    measures.verified
from matched
inner join measures using (measure_id)
order by matched.period, matched.flow, matched.measure_id
