"""The learning loop inside the running plugin: shadow comparisons, feedback, cascade outcomes,
retraining and adoption (above the pipeline, whose calls it makes; ``learning`` below it trains)."""
