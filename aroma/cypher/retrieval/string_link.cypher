// The STRING link between genes $a and $b, either direction, with its channel scores (of any score).
MATCH (a:Gene {id: $a})-[r:INTERACTS_WITH]-(b:Gene {id: $b})
RETURN r.combined_score AS combined_score, r.experimental AS experimental, r.database AS database,
       r.coexpression AS coexpression, r.neighborhood AS neighborhood, r.fusion AS fusion,
       r.cooccurence AS cooccurence
