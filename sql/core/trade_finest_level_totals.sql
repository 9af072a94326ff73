-- core.trade_finest_level added up per release: per period, flow, partner, currency and
-- release of the latest vintage, the rows and value at the finest commodity level present.
-- The same choice of releases and level as core.trade_detailed_latest and
-- core.trade_finest_level, made on core.trade_detailed_totals.
select totals.*
from core.trade_detailed_totals as totals
inner join core.detailed_releases_latest using (release_id)
qualify hs_level = max(hs_level) over (partition by period, flow, partner_code, currency)
