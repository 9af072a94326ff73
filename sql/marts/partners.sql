-- One row per trading partner: GACC code, ISO 3166 alpha-3 and names.
select
    partner_iso3,
    partner_code,
    partner_name_en as partner_name,
    partner_name_zh,
    partner_kind
from staging.stg_partners
