-- The yearly series of China-DPRK trade, with how complete each year is.
select
    year,
    value_usd,
    yoy_pct,
    months_covered
from marts.trade_yearly
where partner_iso3 = 'PRK'
  and flow = 'total'
order by year
