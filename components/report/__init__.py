"""The evaluation report: one self-contained HTML page from an evaluator's output."""
