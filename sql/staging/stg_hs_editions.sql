-- One row per HS edition China's tariff followed, with the months it was in force
-- (seed: seeds/hs_editions.csv): HS 2012 to 2016, HS 2017 to 2021, HS 2022 from 2022.
select
    hs_edition,
    cast(strptime(first_period, '%Y-%m') as date) as first_period,
    cast(strptime(nullif(last_period, ''), '%Y-%m') as date) as last_period,
    note
from read_csv('{{ seeds_dir }}/hs_editions.csv', header = true, all_varchar = true)
