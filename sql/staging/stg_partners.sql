-- One row per GACC partner code, with ISO 3166 alpha-3 and names (seed: seeds/partners.csv).
select
    partner_code,
    partner_iso3,
    partner_name_en,
    partner_name_zh,
    partner_kind
from read_csv('{{ seeds_dir }}/partners.csv', header = true, all_varchar = true)
