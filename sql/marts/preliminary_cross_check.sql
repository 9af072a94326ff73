-- Detailed data against the preliminary table for every partner, month (or January-February
-- pair), flow and currency present in both: the figures, their difference, and whether it is
-- within tolerance (0.5% of the preliminary figure, or the table's own rounding: its values
-- are printed to 0.1 of "USD1 Million" or of "CNY 100 Million"). A disagreement is reported,
-- never averaged: the marts keep the detailed figure.
with

preliminary as (
    select
        period_start,
        period,
        months_covered,
        partner_code,
        partner_label,
        flow,
        currency,
        value,
        release_id
    from core.trade_preliminary_latest
    where label_kind = 'partner'
      -- the years being rebuilt (null: all); a span never crosses a year
      and (getvariable('touched_periods') is null
           or list_contains(getvariable('touched_periods'), period_start))
),

detailed_months as (
    select period, partner_code, flow, currency, sum(value) as value
    from core.trade_finest_level_totals
    where getvariable('touched_periods') is null
       or list_contains(getvariable('touched_periods'), period)
    group by period, partner_code, flow, currency
),

detailed_by_flow as (
    select * from detailed_months
    union all
    select period, partner_code, 'total' as flow, currency, sum(value) as value
    from detailed_months
    group by period, partner_code, currency
),

compared as (
    select
        preliminary.*,
        sum(detailed.value) as value_detailed,
        count(*) as detailed_months
    from preliminary
    inner join detailed_by_flow as detailed
        on detailed.partner_code = preliminary.partner_code
       and detailed.flow = preliminary.flow
       and detailed.currency = preliminary.currency
       and detailed.period between preliminary.period_start and preliminary.period
    where preliminary.value is not null
    group by all
    -- only spans the detailed data covers in full
    having count(*) = any_value(preliminary.months_covered)
)

select
    compared.period_start as period,
    compared.period as period_end,
    cast(compared.months_covered as integer) as months_covered,
    partners.partner_iso3,
    compared.partner_label,
    compared.flow,
    compared.currency,
    cast(compared.value_detailed as bigint) as value_detailed,
    cast(compared.value as bigint) as value_preliminary,
    cast(compared.value_detailed - compared.value as bigint) as difference,
    round(100.0 * (compared.value_detailed - compared.value) / nullif(compared.value, 0), 2)
        as difference_pct,
    cast(greatest(
        0.005 * compared.value,
        case compared.currency when 'CNY' then 5000000 else 50000 end
    ) as bigint) as tolerance,
    abs(compared.value_detailed - compared.value) <= greatest(
        0.005 * compared.value,
        case compared.currency when 'CNY' then 5000000 else 50000 end
    ) as within_tolerance,
    compared.release_id as preliminary_release_id,
    releases.source_name as preliminary_source_name
from compared
inner join staging.stg_partners as partners using (partner_code)
inner join meta.releases as releases using (release_id)
order by period, partners.partner_iso3, compared.flow, compared.currency
