"""Users' data in the forms the field publishes it: PerturbQA's label files, read once per command."""

from aroma.data.perturbqa import LabelledPair, PerturbQA, carve_validation, cell_lines, read_cell_line

__all__ = ["LabelledPair", "PerturbQA", "carve_validation", "cell_lines", "read_cell_line"]
