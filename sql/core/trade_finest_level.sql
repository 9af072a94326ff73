-- The rows the marts add up: per period, flow, partner and currency, only the finest commodity
-- level present. Exports of the same partner-month at two levels are two views of the same
-- trade; adding both would count it twice.
with

latest as (
    select * from core.trade_detailed_latest
),

finest as (
    select
        period,
        flow,
        partner_code,
        currency,
        max(hs_level) as hs_level
    from latest
    group by all
)

select latest.*
from latest
inner join finest using (period, flow, partner_code, currency, hs_level)
