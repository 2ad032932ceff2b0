// Training-split PerturbQA outcomes of one cell line: what each knockdown did to each measured target (a gene, or
// a named gene set in a gene-set task), with the names the label file gave them.
MATCH (p:Gene)-[e:KNOCKDOWN_EFFECT]->(t)
WHERE e.cell_line = $cell_line
RETURN p.id AS perturbed, p.symbol AS perturbed_symbol, t.id AS target, coalesce(t.symbol, t.name) AS target_symbol,
       e.effect AS effect, e.pert_symbol AS perturbed_name, e.target_symbol AS target_name
