// How many STRING partners each gene of $ids has, of any score (genes without any give no row).
UNWIND $ids AS id
MATCH (a:Gene {id: id})-[r:INTERACTS_WITH]-()
RETURN a.id AS id, count(r) AS degree
