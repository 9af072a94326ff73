-- Per half-year and flow: China's trade with the DPRK (GACC 109), and the part in 8-digit lines
-- covered by ANY UN Security Council measure in force that month. A line under two measures
-- (crude oil under a cap and the condensate ban; jet fuel under the aviation-fuel ban and the
-- refined-petroleum cap) is counted once.
with

lines as (
    select
        period,
        flow,
        hs_code,
        hs_level,
        value
    from core.trade_finest_level
    where currency = 'USD'
      and partner_code = '109'
      -- a run rebuilds only the halves it touched, whole (null: all)
      and (getvariable('touched_periods') is null
           or list_contains(getvariable('touched_periods'), period))
),

measures as (
    select * from staging.stg_unsc_measures
),

flagged as (
    select
        lines.*,
        lines.hs_level = 8 and exists (
            select 1
            from measures
            where measures.flow = lines.flow
              and lines.hs_code like measures.hs_prefix || '%'
              and last_day(lines.period) >= measures.effective_date
              and (measures.in_force_until is null or lines.period <= measures.in_force_until)
        ) as covered
    from lines
)

select
    cast(year(period) as integer) as year,
    case when month(period) <= 6 then 'H1' else 'H2' end as half,
    'PRK' as partner_iso3,
    flow,
    cast(sum(value) as bigint) as value_usd,
    cast(coalesce(sum(value) filter (where covered), 0) as bigint) as covered_value_usd,
    round(100.0 * coalesce(sum(value) filter (where covered), 0) / nullif(sum(value), 0), 2)
        as covered_share_pct,
    cast(count(distinct hs_code) filter (where covered) as integer) as covered_line_count,
    cast(coalesce(sum(value) filter (where hs_level < 8), 0) as bigint) as value_usd_not_8digit,
    cast(count(distinct month(period)) as integer) as months_covered
from flagged
group by all
order by year, half, flow
