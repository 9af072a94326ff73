-- One row per BEC rev. 4 category (seed: seeds/bec4_categories.csv): description, parent,
-- level, and for the categories the HS tables use, the end use (the SNA basic class of goods:
-- capital, intermediate, consumption, or not_classified for motor spirit, passenger cars and
-- goods n.e.s.).
select
    bec4_code,
    description,
    nullif(parent_code, '') as parent_code,
    cast(level as integer) as level,
    is_leaf = 'yes' as is_leaf,
    nullif(end_use, '') as end_use
from read_csv('{{ seeds_dir }}/bec4_categories.csv', header = true, all_varchar = true)
