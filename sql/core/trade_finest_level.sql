-- The rows the marts add up: per period, flow, partner and currency, only the finest commodity
-- level present. Exports of the same partner-month at two levels are two views of the same
-- trade; adding both would count it twice.
-- One scan with a window (not a self-join): a filter on period in a model reading this view
-- then reaches the scan of core.trade_detailed, so an incremental mart reads only its months.
select *
from core.trade_detailed_latest
qualify hs_level = max(hs_level) over (partition by period, flow, partner_code, currency)
