-- One row per commodity code and level (2, 4, 6, 8 digits) (seed: seeds/commodities.csv).
select
    hs_code,
    cast(hs_level as integer) as hs_level,
    description_en,
    description_zh,
    description_source
from read_csv('{{ seeds_dir }}/commodities.csv', header = true, all_varchar = true)
-- The commodity marts look each name up by code and level, which fails on reading (after
-- publishing) for a code listed twice. Refused here, so the build fails first.
qualify case
    when count(*) over (partition by hs_code, hs_level) > 1
        then error('seeds/commodities.csv: hs_code ' || hs_code || ' (' || hs_level
                   || ' digits) is listed twice; expected each code once')
    else true
end
