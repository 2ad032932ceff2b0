// Empty a Neo4j database before an in-place rebuild, in batches so no transaction grows too large.
MATCH (n)
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS;
