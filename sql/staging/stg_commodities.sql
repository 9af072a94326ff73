-- One row per commodity code and level (2, 4, 6, 8 digits) (seed: seeds/commodities.csv).
select
    hs_code,
    cast(hs_level as integer) as hs_level,
    description_en,
    description_zh,
    description_source
from read_csv('{{ seeds_dir }}/commodities.csv', header = true, all_varchar = true)
