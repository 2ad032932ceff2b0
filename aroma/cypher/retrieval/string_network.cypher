// The whole STRING network (Gene-KG interactions), for path finding in memory: one row per pair.
MATCH (a:Gene)-[r:INTERACTS_WITH]->(b:Gene)
RETURN a.id AS a, b.id AS b, a.symbol AS a_symbol, b.symbol AS b_symbol, r.combined_score AS combined_score,
       r.experimental AS experimental, r.database AS database, r.coexpression AS coexpression,
       r.neighborhood AS neighborhood, r.fusion AS fusion, r.cooccurence AS cooccurence
