-- One row per year, half, partner, flow, commodity level and code: core.commodity_half_year
-- (the half-year sums and the same months a year earlier) with the partner's and the
-- commodity's names. A view: the names are looked up as rows are read, not stored on each.
select
    halves.year,
    halves.half,
    halves.partner_iso3,
    partners.partner_name_en as partner_name,
    halves.flow,
    halves.hs_level,
    halves.hs_code,
    -- A scalar subquery, not a left join, as in marts.trade_by_commodity_monthly.
    (
        select commodities.description_en
        from core.commodity_descriptions as commodities
        where commodities.hs_code = halves.hs_code
          and commodities.hs_level = halves.hs_level
    ) as hs_description,
    halves.value_usd,
    halves.value_usd_prev_year,
    halves.yoy_pct,
    halves.months_with_trade,
    halves.release_count,
    halves.quantity,
    halves.quantity_unit,
    halves.unit_value_usd,
    halves.quantity_prev_year,
    halves.unit_value_usd_prev_year
from core.commodity_half_year as halves
inner join staging.stg_partners as partners using (partner_iso3)
