-- One row per GACC customs regime (trade mode) code (seed: seeds/customs_regimes.csv).
select
    customs_regime_code,
    customs_regime_name_en,
    customs_regime_name_zh
from read_csv('{{ seeds_dir }}/customs_regimes.csv', header = true, all_varchar = true)
