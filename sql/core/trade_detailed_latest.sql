-- Detailed trade of the latest vintage of each download (flow + file name without its
-- publication date). A file delivered again with other bytes is a revision: it replaces the
-- earlier vintage here, while the earlier rows stay in core.trade_detailed with their release.
with

latest_releases as (
    select release_id
    from core.releases_in_view
    where kind = 'detailed_export'
      and vintage_rank = 1
)

select trade.*
from core.trade_detailed as trade
inner join latest_releases using (release_id)
