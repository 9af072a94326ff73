-- How did China's trade with North Korea change in the first half of 2025?
select
    flow,
    value_usd,
    value_usd_prev_year,
    yoy_pct,
    months_covered
from marts.trade_half_year
where partner_iso3 = 'PRK'
  and year = 2025
  and half = 'H1'
order by flow
