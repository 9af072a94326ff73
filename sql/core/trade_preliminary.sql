-- Preliminary trade from GACC's by-country tables, every vintage kept: one row per
-- release, partner label and flow. Loaded incrementally like core.trade_detailed.
create table if not exists core.trade_preliminary (
    release_id varchar not null,        -- meta.releases.release_id
    source_row bigint not null,         -- row of the page's table the figure came from
    period_start date not null,         -- first month covered (January in a Jan-Feb table)
    period date not null,               -- last month covered
    months_covered tinyint not null,    -- 2 for the January-February cumulative, else 1
    partner_label varchar not null,     -- as printed: 'Korea, Rep.', 'ASEAN', 'Total'
    partner_key varchar,                -- the label matched loosely (canonical.label_key)
    label_kind varchar not null,        -- 'partner' | 'group' | 'total'
    partner_code varchar,               -- GACC code where the label is one partner
    flow varchar not null,              -- 'total' | 'export' | 'import'
    value_month bigint,                 -- the month (null in a Jan-Feb table), whole units
    value_ytd bigint,                   -- January to the month, whole units
    yoy_ytd_pct double,                 -- as printed (a percentage, not money)
    currency varchar not null           -- 'USD' | 'CNY', separate series, never converted
);
-- Tables published before partner_key: the column is added here and filled by the runner.
alter table core.trade_preliminary add column if not exists partner_key varchar;
