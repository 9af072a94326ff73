-- core.trade_finest_level added up per release: per period, flow, partner, currency and
-- release of the latest vintage, the rows and value at the finest commodity level present.
-- The same choice of releases and level as core.trade_detailed_latest and
-- core.trade_finest_level, made on core.trade_detailed_totals.
with

latest_releases as (
    select release_id
    from core.releases_in_view
    where kind = 'detailed_export'
      and vintage_rank = 1
)

select totals.*
from core.trade_detailed_totals as totals
inner join latest_releases using (release_id)
qualify hs_level = max(hs_level) over (partition by period, flow, partner_code, currency)
