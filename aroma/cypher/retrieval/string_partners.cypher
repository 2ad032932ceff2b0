// Every STRING partner of each gene of $ids with the channel scores, strongest first (bounded path search).
// The pattern starts at the indexed gene: ArcadeDB plans from the first node of a pattern.
UNWIND $ids AS id
MATCH (a:Gene {id: id})-[r:INTERACTS_WITH]-(b:Gene)
RETURN a.id AS id, a.symbol AS symbol, b.id AS partner, b.symbol AS partner_symbol,
       r.combined_score AS combined_score, r.experimental AS experimental, r.database AS database,
       r.coexpression AS coexpression, r.neighborhood AS neighborhood, r.fusion AS fusion,
       r.cooccurence AS cooccurence
ORDER BY id, combined_score DESC, partner_symbol
