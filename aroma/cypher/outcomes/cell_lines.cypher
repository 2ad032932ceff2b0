// The cell lines whose training-split outcomes are in the graph, with how many pairs each has.
MATCH ()-[e:KNOCKDOWN_EFFECT]->()
RETURN e.cell_line AS cell_line, count(*) AS pairs
ORDER BY cell_line
