// Training-split PerturbQA outcomes of one cell line: what each knockdown did to each measured target gene.
MATCH (p:Gene)-[e:KNOCKDOWN_EFFECT]->(t:Gene)
WHERE e.cell_line = $cell_line
RETURN p.id AS perturbed, p.symbol AS perturbed_symbol, t.id AS target, t.symbol AS target_symbol, e.effect AS effect
