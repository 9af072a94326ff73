-- The rows the marts add up: per period, flow, partner and currency, only the finest commodity
-- level present. Exports of the same partner-month at two levels are two views of the same
-- trade; adding both would count it twice.
-- The finest level is read from core.trade_finest_level_totals (a few thousand rows a month)
-- and the detail semi-joined to it: a filter on period in a model reading this view still
-- reaches the scan of core.trade_detailed, and no window has to partition (and carry every
-- column of) all of core, which took most of the commodity mart's time and memory.
with

finest as (
    select period, flow, partner_code, currency, max(hs_level) as hs_level
    from core.trade_finest_level_totals
    group by period, flow, partner_code, currency
)

select trade.*
from core.trade_detailed_latest as trade
semi join finest using (period, flow, partner_code, currency, hs_level)
