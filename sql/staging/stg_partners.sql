-- One row per GACC partner code, with ISO 3166 alpha-3 and names (seed: seeds/partners.csv).
select
    partner_code,
    partner_iso3,
    partner_name_en,
    partner_name_zh,
    partner_kind
from read_csv('{{ seeds_dir }}/partners.csv', header = true, all_varchar = true)
-- The marts join names on either code: a code listed twice would repeat their rows. Refused
-- here, so the build fails before anything is published.
qualify case
    when count(*) over (partition by partner_code) > 1
        then error('seeds/partners.csv: partner_code ' || partner_code
                   || ' is listed twice; expected each partner code once')
    when count(*) over (partition by partner_iso3) > 1
        then error('seeds/partners.csv: partner_iso3 ' || coalesce(partner_iso3, 'empty')
                   || ' is listed twice; expected each ISO 3166 code once')
    else true
end
