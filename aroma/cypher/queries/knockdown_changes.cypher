// What knocking down a gene changed in a cell line (training split): e.g. $symbol = 'TP53', $cell_line = 'K562'.
MATCH (p:Gene {symbol: $symbol})-[e:KNOCKDOWN_EFFECT]->(t:Gene)
WHERE e.cell_line = $cell_line AND e.effect <> 'not changed'
RETURN t.symbol AS target, e.effect AS effect
ORDER BY effect, target
