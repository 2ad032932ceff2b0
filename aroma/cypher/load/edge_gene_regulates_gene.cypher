// TRRUST v2: transcription factor -> target, with sign and PubMed ids.
UNWIND $rows AS row
MATCH (a:Gene {id: row.source})
MATCH (b:Gene {id: row.target})
CREATE (a)-[:REGULATES {sign: row.sign, pmids: row.pmids}]->(b)
