// Every property key in use on nodes and relationships (portable: ArcadeDB's db.propertyKeys() is empty).
CALL () {
  MATCH (n) UNWIND keys(n) AS key RETURN key
  UNION
  MATCH ()-[r]->() UNWIND keys(r) AS key RETURN key
}
RETURN DISTINCT key
ORDER BY key
