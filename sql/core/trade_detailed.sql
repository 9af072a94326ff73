-- Detailed trade at its natural grain, every vintage of every release kept.
-- Loaded incrementally: a release's rows are replaced as a unit (delete + insert by release_id).
create table if not exists core.trade_detailed (
    release_id varchar not null,        -- meta.releases.release_id
    source_row bigint not null,         -- line of the release file the row came from
    period date not null,               -- first day of the month
    flow varchar not null,              -- 'export' | 'import' (China's)
    partner_code varchar not null,      -- GACC partner code (not UN M49)
    hs_code varchar not null,           -- commodity code as text, leading zeros kept
    hs_level tinyint not null,          -- 2, 4, 6 or 8
    customs_regime_code varchar,        -- null when the export was not split by regime
    registration_place_code varchar,    -- null when the export was not split by place
    quantity double,
    quantity_unit varchar,
    supplementary_quantity double,
    supplementary_unit varchar,
    value bigint not null,              -- whole currency units, exact
    currency varchar not null           -- 'USD' | 'CNY', separate series, never converted
);
