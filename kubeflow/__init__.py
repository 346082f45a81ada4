"""Kubeflow Pipelines compilation (`tfx-heads compile`), Dataflow Beam arguments, and the
container recipe (`Dockerfile`) of the pipeline's steps and Dataflow workers."""
