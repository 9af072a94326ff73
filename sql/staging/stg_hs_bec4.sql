-- One row per HS edition, 6-digit code and BEC rev. 4 category from UNSD's HS to BEC tables
-- (seed: seeds/hs_bec4.csv): a code with several categories has several rows; a code UNSD
-- leaves without one has an empty bec4_code.
select
    hs_edition,
    hs6_code,
    nullif(bec4_code, '') as bec4_code,
    nullif(relationship, '') as relationship
from read_csv('{{ seeds_dir }}/hs_bec4.csv', header = true, all_varchar = true)
