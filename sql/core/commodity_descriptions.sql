-- One row per commodity code and level with its description: GACC's list and the curated HS
-- titles (staging.stg_commodities), and for the codes they lack, the names the exports printed
-- (core.commodity_names): the latest English export's name, the latest Chinese export's name.
-- A table (small): the commodity marts look every row's name up in it.
-- materialized: table
with

printed as (
    select
        names.hs_code,
        cast(names.hs_level as integer) as hs_level,
        names.language,
        names.description,
        row_number() over (
            partition by names.hs_code, names.hs_level, names.language
            order by releases.known_on desc, releases.received_at desc, names.release_id desc
        ) as latest
    from core.commodity_names as names
    -- only the codes the list lacks (the rest are dropped below anyway): exports parsed
    -- before names were kept for unlisted codes only gave every code's name
    anti join staging.stg_commodities as listed
        on listed.hs_code = names.hs_code
       and listed.hs_level = names.hs_level
    inner join core.releases_in_view as releases using (release_id)
),

from_exports as (
    select
        hs_code,
        hs_level,
        any_value(description) filter (where language = 'en') as description_en,
        any_value(description) filter (where language = 'zh') as description_zh
    from printed
    where latest = 1
    group by hs_code, hs_level
)

select hs_code, hs_level, description_en, description_zh, description_source
from staging.stg_commodities
union all
select
    from_exports.hs_code,
    from_exports.hs_level,
    from_exports.description_en,
    from_exports.description_zh,
    'export_commodity_column' as description_source
from from_exports
anti join staging.stg_commodities as listed using (hs_code, hs_level)
