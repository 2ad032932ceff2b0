// STRING interaction partners of one gene, strongest first, with channel scores.
MATCH (g:Gene {symbol: $symbol})-[r:INTERACTS_WITH]-(n:Gene)
RETURN n.symbol AS symbol, n.id AS id, n.description AS description, r.combined_score AS combined_score,
       r.experimental AS experimental, r.database AS database, r.coexpression AS coexpression
ORDER BY combined_score DESC, symbol
LIMIT $limit
