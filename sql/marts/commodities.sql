-- One row per commodity code and level (2, 4, 6, 8 digits) with its description: GACC's list,
-- curated HS titles, and the exports' own names for codes the list lacks.
select
    hs_code,
    hs_level,
    description_en as hs_description,
    description_zh as hs_description_zh,
    description_source
from core.commodity_descriptions
