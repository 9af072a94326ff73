-- The detailed exports whose rows count: the latest vintage of each download (flow, month and
-- file name without its publication date), as core.releases_in_view ranks them.
select release_id
from core.releases_in_view
where kind = 'detailed_export'
  and vintage_rank = 1
