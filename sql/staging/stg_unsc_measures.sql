-- One row per UN Security Council measure on the DPRK and commodity-code prefix it covers
-- (seed: seeds/unsc_measures.csv). A line is covered when its code starts with hs_prefix.
select
    measure_id,
    resolution,
    paragraph,
    cast(adopted as date) as adopted,
    cast(effective_date as date) as effective_date,
    cast(nullif(in_force_until, '') as date) as in_force_until,
    direction,
    case direction when 'to_dprk' then 'export' when 'from_dprk' then 'import' end as flow,
    kind,
    commodity,
    hs_prefix,
    hs_source,
    cast(nullif(cap_quantity, '') as double) as cap_quantity,
    nullif(cap_unit, '') as cap_unit,
    nullif(cap_note, '') as cap_note,
    exemptions,
    verified,
    note
from read_csv('{{ seeds_dir }}/unsc_measures.csv', header = true, all_varchar = true)
