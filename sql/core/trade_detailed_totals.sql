-- core.trade_detailed added up per release, month, flow, partner, currency and commodity level:
-- the rows and value each file delivered. Every vintage is kept (vintages and the finest level
-- are chosen downstream, in core.trade_finest_level_totals, so `as_of` still applies). The
-- marts that need no commodity detail read this table of a few thousand rows a month instead
-- of scanning all of core on every run.
-- materialized: incremental by month
select
    release_id,
    period,
    flow,
    partner_code,
    currency,
    hs_level,
    count(*) as row_count,
    sum(value) as value
from core.trade_detailed
-- a run rebuilds only the months it touched (null: all); the filter reaches the core scan
where getvariable('touched_periods') is null
   or list_contains(getvariable('touched_periods'), period)
group by all
