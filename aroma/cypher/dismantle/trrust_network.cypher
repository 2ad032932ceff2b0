// The whole TRRUST regulatory network: transcription factor → target.
MATCH (tf:Gene)-[:REGULATES]->(target:Gene)
RETURN tf.id AS a, target.id AS b, tf.symbol AS a_symbol, target.symbol AS b_symbol
