// TRRUST regulation touching each gene, in either role (transcription factor or target).
// Each pattern starts at the indexed gene: ArcadeDB plans from the first node of a pattern.
UNWIND $ids AS id
MATCH (tf:Gene {id: id})-[r:REGULATES]->(target:Gene)
RETURN tf.id AS tf, tf.symbol AS tf_symbol, target.id AS target, target.symbol AS target_symbol,
       r.sign AS sign, r.pmids AS pmids
UNION
UNWIND $ids AS id
MATCH (target:Gene {id: id})<-[r:REGULATES]-(tf:Gene)
RETURN tf.id AS tf, tf.symbol AS tf_symbol, target.id AS target, target.symbol AS target_symbol,
       r.sign AS sign, r.pmids AS pmids
