"""Writers of a run's outputs: samples.jsonl, aggregate.json, report.md."""
