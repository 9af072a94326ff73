-- Detailed trade of the latest vintage of each download (flow + file name without its
-- publication date). A file delivered again with other bytes is a revision: it replaces the
-- earlier vintage here, while the earlier rows stay in core.trade_detailed with their release.
select trade.*
from core.trade_detailed as trade
inner join core.detailed_releases_latest using (release_id)
