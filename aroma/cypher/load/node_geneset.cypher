// Named gene sets measured as targets by a PerturbQA gene-set task (e.g. its K562 gene clusters);
// the id is geneset:DATASET/NAME.
UNWIND $rows AS row
CREATE (n:GeneSet {id: row.id, name: row.name, dataset: row.dataset})
