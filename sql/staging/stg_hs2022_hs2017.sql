-- One row per HS 2022 / HS 2017 pair of 6-digit codes from UNSD's correlation table
-- (seed: seeds/hs2022_hs2017.csv): its relationship ('1:1', 'n:1', '1:n', 'n:n') and whether
-- it is UNSD's conversion, the one HS 2017 code UNSD gives each HS 2022 code.
select
    hs2022_code,
    hs2017_code,
    relationship,
    conversion = 'yes' as is_conversion
from read_csv('{{ seeds_dir }}/hs2022_hs2017.csv', header = true, all_varchar = true)
