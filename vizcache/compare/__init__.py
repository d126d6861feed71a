"""A/B comparison of cache policies: experiments, workloads, isolated runs, metrics, reports."""
