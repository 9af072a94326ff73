-- One row per month, partner, flow and commodity code, at every level (2, 4, 6, 8 digits)
-- that the partner-month's data supports (an 8-digit export rolls up to 6, 4 and 2 digits): the
-- figures of marts.trade_by_commodity_monthly, by code only. That mart is a view adding the
-- names: written on every row (20M rows a year at national scale) they took a third of the time
-- to build it and of the warehouse file every run copies.
-- core.commodity_half_year, a view, adds these rows up for each half as it is read. So the
-- year and half are stored (constant within a month: next to nothing on disk) and a month's rows
-- are written in the order of level, then partner: each row group's zone maps then let a
-- dashboard's filter on year, half, level and partner (or code) skip the rest of the table.
-- Unordered, a partner's half read all 6M rows at medium scale (40-370 ms, against 15-25 ms);
-- ordered by partner first, one chapter across partners still took 140-260 ms (17 ms now).
-- Flow and code as further sort keys cost 10% of the build (8.8-9.3 s against 8.1 s at medium)
-- for the same dashboard times: a partner's rows of a level are a few row groups at most.
-- Release files behind a figure are counted as bits, not with count(distinct): each release of
-- a partner's month and flow gets a bit (from core.trade_detailed_totals, a few thousand rows a
-- month), and a figure ORs its rows' bits. count(distinct) cost a quarter of this model's build
-- (37-40 s against 28-29 s for 12M rows, the same rows). A partner-month with more releases
-- than a bigint has bits (63) is counted the distinct way, which sees only its rows.
-- materialized: incremental by month
with

release_bits as (
    select
        period,
        flow,
        partner_code,
        release_id,
        case when count(*) over (partition by period, flow, partner_code) <= 63 then
            1::bigint << (row_number() over (
                partition by period, flow, partner_code order by release_id
            ) - 1)
        end as release_bit
    from (
        select distinct period, flow, partner_code, release_id
        from core.trade_detailed_totals
        where getvariable('touched_periods') is null
           or list_contains(getvariable('touched_periods'), period)
    )
),

usd_trade as (
    select
        trade.*,
        -- one name per unit: a Chinese export's 千克 is an English export's Kilogram
        coalesce(units.quantity_unit_en, trade.quantity_unit) as unit,
        release_bits.release_bit
    from core.trade_finest_level as trade
    left join release_bits using (period, flow, partner_code, release_id)
    left join staging.stg_quantity_units as units
        on units.quantity_unit_zh = trade.quantity_unit
    where trade.currency = 'USD'
      -- a run rebuilds only the months it touched (null: all); the filter reaches the core scan
      and (getvariable('touched_periods') is null
           or list_contains(getvariable('touched_periods'), trade.period))
),

levels as (
    select unnest([2, 4, 6, 8]) as hs_level
),

rolled_up as (
    select
        usd_trade.period,
        usd_trade.partner_code,
        usd_trade.flow,
        levels.hs_level,
        left(usd_trade.hs_code, levels.hs_level) as hs_code,
        sum(usd_trade.value) as value_usd,
        count(distinct usd_trade.release_id) filter (where usd_trade.release_bit is null)
            + coalesce(bit_count(bit_or(usd_trade.release_bit)), 0) as release_count,
        -- a quantity only where every row of the figure has a quantity in one and the same unit:
        -- never a sum of kilograms and pieces (a row without a unit makes the figure mixed)
        count(*) = count(usd_trade.unit) and count(usd_trade.quantity) = count(*)
            and min(usd_trade.unit) = max(usd_trade.unit) as one_unit,
        min(usd_trade.unit) as unit,
        sum(usd_trade.quantity) as quantity
    from usd_trade
    inner join levels on levels.hs_level <= usd_trade.hs_level
    group by all
)

select
    cast(year(rolled_up.period) as integer) as year,
    case when month(rolled_up.period) <= 6 then 'H1' else 'H2' end as half,
    rolled_up.period,
    partners.partner_iso3,
    rolled_up.flow,
    rolled_up.hs_level,
    rolled_up.hs_code,
    cast(rolled_up.value_usd as bigint) as value_usd,
    cast(rolled_up.release_count as integer) as release_count,
    case when rolled_up.one_unit then rolled_up.quantity end as quantity,
    case when rolled_up.one_unit then rolled_up.unit end as quantity_unit,
    case when rolled_up.one_unit and rolled_up.quantity > 0
        then rolled_up.value_usd / rolled_up.quantity end as unit_value_usd
from rolled_up
inner join staging.stg_partners as partners using (partner_code)
order by rolled_up.period, rolled_up.hs_level, partners.partner_iso3
