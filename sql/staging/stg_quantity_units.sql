-- One row per GACC statistical unit (GACC's whole list) in Chinese with the English the marts
-- show (seed: seeds/quantity_units.csv, which the release checks read too): a Chinese and an
-- English export of the same goods carry the same unit under two names.
select
    quantity_unit_zh,
    quantity_unit_en,
    confirmed = 'yes' as confirmed,
    unit_code
from read_csv('{{ seeds_dir }}/quantity_units.csv', header = true, all_varchar = true)
