-- The commodity names each detailed export printed ("Commodity" / 商品名称), one row per
-- release, code and language, for the codes the code lists (seeds/commodities.csv) lack only
-- (an HS 2022-only tariff line, say): the names core.commodity_descriptions uses. The parser
-- drops the others (transform/canonical.py). Loaded with the release, in its transaction, and
-- replaced with it.
create table if not exists core.commodity_names (
    release_id varchar not null,        -- meta.releases.release_id
    hs_code varchar not null,           -- commodity code as text, leading zeros kept
    hs_level tinyint not null,          -- 2, 4, 6 or 8
    language varchar not null,          -- 'en' (English export) | 'zh' (Chinese export)
    description varchar not null        -- as the export printed it
);
