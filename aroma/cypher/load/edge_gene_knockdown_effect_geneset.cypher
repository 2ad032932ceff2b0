// PerturbQA training split: what knocking down a gene did to a target gene set in one dataset (observations).
UNWIND $rows AS row
MATCH (a:Gene {id: row.source})
MATCH (b:GeneSet {id: row.target})
CREATE (a)-[:KNOCKDOWN_EFFECT {cell_line: row.cell_line, effect: row.effect, dataset: row.dataset,
    file: row.file, pert_symbol: row.pert_symbol, target_symbol: row.target_symbol}]->(b)
