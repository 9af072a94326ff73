-- One row per month, partner, flow and commodity code, at every level (2, 4, 6, 8 digits)
-- that the partner-month's data supports: core.commodity_monthly with the partner's and the
-- commodity's names. A view: the names are looked up as rows are read, not stored on each.
select
    monthly.period,
    monthly.partner_iso3,
    partners.partner_name_en as partner_name,
    monthly.flow,
    monthly.hs_level,
    monthly.hs_code,
    -- A scalar subquery, not a left join: on a read of every row the optimiser misjudged the
    -- rows and built a join's hash table on them rather than on the 15k seed rows.
    (
        select commodities.description_en
        from core.commodity_descriptions as commodities
        where commodities.hs_code = monthly.hs_code
          and commodities.hs_level = monthly.hs_level
    ) as hs_description,
    monthly.value_usd,
    monthly.release_count,
    monthly.quantity,
    monthly.quantity_unit,
    monthly.unit_value_usd
from core.commodity_monthly as monthly
inner join staging.stg_partners as partners using (partner_iso3)
