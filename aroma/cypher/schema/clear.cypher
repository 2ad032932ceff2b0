// Empty a Neo4j database before an in-place rebuild, in batches so no transaction grows too large
// (GraphStore.write runs a CALL … IN TRANSACTIONS statement in an auto-commit transaction, as Neo4j requires).
MATCH (n)
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 2000 ROWS;
